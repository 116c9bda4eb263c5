{
  "targets": [
    {
      "target_name": "leasehold_native",
      "sources": ["csrc/leasehold_native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    },
    {
      "target_name": "leasehold-fast",
      "type": "executable",
      "sources": ["csrc/leasehold_fast.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    }
  ]
}
