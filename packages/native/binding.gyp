{
  "targets": [
    {
      "target_name": "leasehold_native",
      "sources": ["csrc/leasehold_native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    }
  ]
}
