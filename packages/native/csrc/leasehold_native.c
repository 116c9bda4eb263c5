/*
 * leasehold_native: the few system calls Node cannot make by itself.
 * Each function is a thin wrapper that throws a JS Error carrying errno's name
 * in `code`, so callers see the same shape as Node's own fs errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/watchdog.h>
#include <node_api.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "command_protocol.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error;
  const char *name = "EUNKNOWN";
  switch (err) {
    case EINVAL: name = "EINVAL"; break;
    case ENOTTY: name = "ENOTTY"; break;
    case EBADF: name = "EBADF"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case ESRCH: name = "ESRCH"; break;
    case EPERM: name = "EPERM"; break;
    case EACCES: name = "EACCES"; break;
    case ENOENT: name = "ENOENT"; break;
    case ECONNREFUSED: name = "ECONNREFUSED"; break;
    case ENOSYS: name = "ENOSYS"; break;
    case EIO: name = "EIO"; break;
    case EBUSY: name = "EBUSY"; break;
    case EINTR: name = "EINTR"; break;
    case EAGAIN: name = "EAGAIN"; break;
    case ENXIO: name = "ENXIO"; break;
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_value errnoValue;
  napi_create_int32(env, err, &errnoValue);
  napi_set_named_property(env, error, "errno", errnoValue);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

static int arg_i64(napi_env env, napi_callback_info info, size_t want, int64_t *out) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  for (size_t i = 0; i < want; i++) {
    if (i >= argc || napi_get_value_int64(env, argv[i], &out[i]) != napi_ok) {
      napi_throw_type_error(env, "EINVAL", "expected integer arguments");
      return -1;
    }
  }
  return 0;
}

static void free_aligned(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  free(data);
}

/* alignedBuffer(sizeBytes, alignmentBytes): zero-filled Buffer whose data pointer is aligned. */
static napi_value aligned_buffer(napi_env env, napi_callback_info info) {
  int64_t a[2];
  if (arg_i64(env, info, 2, a)) return NULL;
  if (a[0] <= 0 || a[1] <= 0 || (a[1] & (a[1] - 1)) != 0) return throw_errno(env, "alignedBuffer", EINVAL);
  void *p = NULL;
  int rc = posix_memalign(&p, (size_t)a[1], (size_t)a[0]);
  if (rc != 0) return throw_errno(env, "posix_memalign", rc);
  memset(p, 0, (size_t)a[0]);
  napi_value buf;
  if (napi_create_external_buffer(env, (size_t)a[0], p, free_aligned, NULL, &buf) != napi_ok) {
    free(p);
    return throw_errno(env, "napi_create_external_buffer", ENOMEM);
  }
  return buf;
}

/* bufferAddress(buffer) mod 2^53: lets tests assert alignment. */
static napi_value buffer_address(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data = NULL;
  size_t len = 0;
  if (argc < 1 || napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "expected a Buffer");
    return NULL;
  }
  napi_value out;
  napi_create_double(env, (double)((uintptr_t)data & ((1ULL << 53) - 1)), &out);
  return out;
}

/* blockDeviceGeometry(fd): {sizeBytes, logicalSectorSize, physicalSectorSize} via BLK* ioctls. */
static napi_value block_device_geometry(napi_env env, napi_callback_info info) {
  int64_t a[1];
  if (arg_i64(env, info, 1, a)) return NULL;
  uint64_t size = 0;
  int lss = 0;
  unsigned int pss = 0;
  if (ioctl((int)a[0], BLKGETSIZE64, &size) < 0) return throw_errno(env, "BLKGETSIZE64", errno);
  if (ioctl((int)a[0], BLKSSZGET, &lss) < 0) return throw_errno(env, "BLKSSZGET", errno);
  if (ioctl((int)a[0], BLKPBSZGET, &pss) < 0) return throw_errno(env, "BLKPBSZGET", errno);
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_double(env, (double)size, &v);
  napi_set_named_property(env, obj, "sizeBytes", v);
  napi_create_int32(env, lss, &v);
  napi_set_named_property(env, obj, "logicalSectorSize", v);
  napi_create_int32(env, (int32_t)pss, &v);
  napi_set_named_property(env, obj, "physicalSectorSize", v);
  return obj;
}

/* peerCredentials(fd): {pid, uid, gid} of a connected Unix-socket peer (SO_PEERCRED). */
static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  int64_t a[1];
  if (arg_i64(env, info, 1, a)) return NULL;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt((int)a[0], SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return throw_errno(env, "SO_PEERCRED", errno);
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_int32(env, cred.pid, &v);
  napi_set_named_property(env, obj, "pid", v);
  napi_create_uint32(env, cred.uid, &v);
  napi_set_named_property(env, obj, "uid", v);
  napi_create_uint32(env, cred.gid, &v);
  napi_set_named_property(env, obj, "gid", v);
  return obj;
}

/* pidfdOpen(pid): a pidfd that becomes readable when the process exits (no pid-reuse race). */
static napi_value pidfd_open(napi_env env, napi_callback_info info) {
  int64_t a[1];
  if (arg_i64(env, info, 1, a)) return NULL;
  long fd = syscall(SYS_pidfd_open, (pid_t)a[0], 0);
  if (fd < 0) return throw_errno(env, "pidfd_open", errno);
  napi_value v;
  napi_create_int32(env, (int32_t)fd, &v);
  return v;
}

/* pollReadable(fd, timeoutMs): true when fd is readable (a pidfd: the process has exited). */
static napi_value poll_readable(napi_env env, napi_callback_info info) {
  int64_t a[2];
  if (arg_i64(env, info, 2, a)) return NULL;
  struct pollfd p = {.fd = (int)a[0], .events = POLLIN};
  int rc;
  do { rc = poll(&p, 1, (int)a[1]); } while (rc < 0 && errno == EINTR);
  if (rc < 0) return throw_errno(env, "poll", errno);
  napi_value v;
  napi_get_boolean(env, rc > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)), &v);
  return v;
}

static napi_value wd_ioctl_int(napi_env env, napi_callback_info info, unsigned long req, const char *what, int with_value) {
  int64_t a[2];
  if (arg_i64(env, info, with_value ? 2 : 1, a)) return NULL;
  int value = with_value ? (int)a[1] : 0;
  if (ioctl((int)a[0], req, &value) < 0) return throw_errno(env, what, errno);
  napi_value v;
  napi_create_int32(env, value, &v);
  return v;
}
static napi_value wd_set_timeout(napi_env env, napi_callback_info info) { return wd_ioctl_int(env, info, WDIOC_SETTIMEOUT, "WDIOC_SETTIMEOUT", 1); }
static napi_value wd_get_timeout(napi_env env, napi_callback_info info) { return wd_ioctl_int(env, info, WDIOC_GETTIMEOUT, "WDIOC_GETTIMEOUT", 0); }
static napi_value wd_get_time_left(napi_env env, napi_callback_info info) { return wd_ioctl_int(env, info, WDIOC_GETTIMELEFT, "WDIOC_GETTIMELEFT", 0); }
static napi_value wd_keepalive(napi_env env, napi_callback_info info) { return wd_ioctl_int(env, info, WDIOC_KEEPALIVE, "WDIOC_KEEPALIVE", 0); }

/* sdNotify(socketPath, message): send one datagram to systemd's NOTIFY_SOCKET (abstract if it starts with '@'). */
static napi_value sd_notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[108], msg[512];
  size_t plen = 0, mlen = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], msg, sizeof msg, &mlen) != napi_ok || plen == 0) {
    napi_throw_type_error(env, "EINVAL", "expected (socketPath, message)");
    return NULL;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, plen);
  if (path[0] == '@') addr.sun_path[0] = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  ssize_t rc = sendto(fd, msg, mlen, MSG_NOSIGNAL, (struct sockaddr *)&addr,
                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen));
  int err = errno;
  close(fd);
  if (rc < 0) return throw_errno(env, "sendto NOTIFY_SOCKET", err);
  napi_value v;
  napi_get_boolean(env, 1, &v);
  return v;
}

/* flockNb(fd, exclusive): non-blocking flock(2); true when taken, false when another holder has it
 * (EWOULDBLOCK). Non-blocking so the caller can wait asynchronously (lvm's per-VG file locks). */
static napi_value flock_nb(napi_env env, napi_callback_info info) {
  int64_t a[2];
  if (arg_i64(env, info, 2, a)) return NULL;
  int rc;
  do { rc = flock((int)a[0], (a[1] ? LOCK_EX : LOCK_SH) | LOCK_NB); } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno != EWOULDBLOCK) return throw_errno(env, "flock", errno);
  napi_value v;
  napi_get_boolean(env, rc == 0, &v);
  return v;
}

/* funlock(fd): flock(fd, LOCK_UN). */
static napi_value funlock(napi_env env, napi_callback_info info) {
  int64_t a[1];
  if (arg_i64(env, info, 1, a)) return NULL;
  if (flock((int)a[0], LOCK_UN) < 0) return throw_errno(env, "flock LOCK_UN", errno);
  napi_value v;
  napi_get_boolean(env, 1, &v);
  return v;
}

/* loopSetSizeLimit(fd, sizeLimitBytes): a promise. Changes a bound loop device's sizelimit in place
 * (losetup cannot: it only re-reads the backing size) and makes the device take the new capacity.
 * Runs on a libuv worker: the kernel flushes and freezes the queue, which can be slow on a busy PV. */
#define LOOP_EAGAIN_RETRIES 10

struct loop_size_work {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  uint64_t size_limit;
  int err;
  const char *what;
};

static void loop_size_execute(napi_env env, void *data) {
  (void)env;
  struct loop_size_work *w = data;
  struct loop_info64 li;
  memset(&li, 0, sizeof li);
  if (ioctl(w->fd, LOOP_GET_STATUS64, &li) < 0) { w->err = errno; w->what = "LOOP_GET_STATUS64"; return; }
  li.lo_sizelimit = w->size_limit;
  int rc, tries = 0;
  /* Some kernels answer EAGAIN while the page cache they just flushed still has pages: retry briefly. */
  do {
    rc = ioctl(w->fd, LOOP_SET_STATUS64, &li);
  } while (rc < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < LOOP_EAGAIN_RETRIES && usleep(10000) == 0)));
  if (rc < 0) { w->err = errno; w->what = "LOOP_SET_STATUS64"; return; }
  /* Kernels before 5.x update the capacity only on LOOP_SET_CAPACITY; newer ones already did. */
  if (ioctl(w->fd, LOOP_SET_CAPACITY, 0) < 0) { w->err = errno; w->what = "LOOP_SET_CAPACITY"; return; }
  w->err = 0;
}

static void loop_size_complete(napi_env env, napi_status status, void *data) {
  struct loop_size_work *w = data;
  if (status != napi_ok && w->err == 0) { w->err = EINTR; w->what = "loopSetSizeLimit"; }
  if (w->err != 0) {
    throw_errno(env, w->what, w->err);
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_reject_deferred(env, w->deferred, error);
  } else {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, w->deferred, undef);
  }
  napi_delete_async_work(env, w->work);
  free(w);
}

static napi_value loop_set_size_limit(napi_env env, napi_callback_info info) {
  int64_t a[2];
  if (arg_i64(env, info, 2, a)) return NULL;
  if (a[0] < 0 || a[1] < 0) return throw_errno(env, "loopSetSizeLimit", EINVAL);
  struct loop_size_work *w = calloc(1, sizeof *w);
  if (w == NULL) return throw_errno(env, "loopSetSizeLimit", ENOMEM);
  w->fd = (int)a[0];
  w->size_limit = (uint64_t)a[1];
  napi_value promise, name;
  napi_create_promise(env, &w->deferred, &promise);
  napi_create_string_utf8(env, "loopSetSizeLimit", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, loop_size_execute, loop_size_complete, w, &w->work);
  napi_queue_async_work(env, w->work);
  return promise;
}


/* listenUnix(path, backlog): a listening Unix stream socket only its owner may connect to (0600
 * from the start: bound under a umask that lets no one else in). */
static napi_value listen_unix(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  size_t len = 0;
  int32_t backlog = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
      napi_get_value_int32(env, argv[1], &backlog) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "expected (path, backlog)");
    return NULL;
  }
  if (len + 1 >= sizeof path) return throw_errno(env, "listenUnix", ENAMETOOLONG);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, path, len + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  mode_t old = umask(0177);
  int rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
  int err = errno;
  umask(old);
  if (rc < 0 || listen(fd, backlog) < 0) {
    if (rc == 0) err = errno;
    close(fd);
    return throw_errno(env, "bind/listen", err);
  }
  napi_value v;
  napi_create_int32(env, fd, &v);
  return v;
}

static int read_full(int fd, unsigned char *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  return 0;
}

static void refuse(int fd, uint32_t reason) {
  unsigned char reply[COMMAND_REPLY_BYTES];
  memcpy(reply, COMMAND_REFUSED_MAGIC, 4);
  reply[4] = reason & 0xff; reply[5] = (reason >> 8) & 0xff; reply[6] = (reason >> 16) & 0xff; reply[7] = (reason >> 24) & 0xff;
  ssize_t n;
  do { n = send(fd, reply, sizeof reply, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
}

/* One request, or -1 (refused and closed, with the reason sent). A stuck peer costs at most the
 * receive timeout. */
#define COMMAND_RECEIVE_TIMEOUT_SECONDS 5
static int receive_request(int conn, int fds[COMMAND_STDIO_FDS], unsigned char **payload, uint32_t *payload_len) {
  struct ucred cred;
  socklen_t cred_len = sizeof cred;
  if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 || cred.uid != geteuid()) {
    refuse(conn, COMMAND_REFUSED_UID);
    return -1;
  }
  struct timeval timeout = {.tv_sec = COMMAND_RECEIVE_TIMEOUT_SECONDS};
  setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  unsigned char header[COMMAND_HEADER_BYTES];
  char control[CMSG_SPACE(sizeof(int) * COMMAND_STDIO_FDS)];
  struct iovec iov = {.iov_base = header, .iov_len = sizeof header};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n;
  do { n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL); } while (n < 0 && errno == EINTR);
  int got = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int *received = (int *)CMSG_DATA(c);
    for (int i = 0; i < count; i++) {
      if (got < COMMAND_STDIO_FDS) fds[got++] = received[i];
      else close(received[i]);
    }
  }
  uint32_t version = 0, len = 0;
  if (n == (ssize_t)sizeof header) {
    version = (uint32_t)header[4] | ((uint32_t)header[5] << 8) | ((uint32_t)header[6] << 16) | ((uint32_t)header[7] << 24);
    len = (uint32_t)header[8] | ((uint32_t)header[9] << 8) | ((uint32_t)header[10] << 16) | ((uint32_t)header[11] << 24);
  }
  unsigned char *buf = NULL;
  int ok = n == (ssize_t)sizeof header && (msg.msg_flags & MSG_CTRUNC) == 0 && got == COMMAND_STDIO_FDS &&
           memcmp(header, COMMAND_REQUEST_MAGIC, 4) == 0 && version == COMMAND_PROTOCOL_VERSION &&
           len <= COMMAND_MAX_PAYLOAD_BYTES && (buf = malloc(len == 0 ? 1 : len)) != NULL && read_full(conn, buf, len) == 0;
  if (!ok) {
    free(buf);
    for (int i = 0; i < got; i++) close(fds[i]);
    refuse(conn, COMMAND_REFUSED_MALFORMED);
    return -1;
  }
  *payload = buf;
  *payload_len = len;
  return 0;
}

static void free_payload(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  free(data);
}

/* commandAccept(listenFd): blocks until one well-formed request from a peer of our own uid arrives
 * (others are refused and skipped); { connFd, pid, fds: [stdin, stdout, stderr], payload }. Only an
 * idle command worker calls it: blocking its thread is its whole job until then. */
static napi_value command_accept(napi_env env, napi_callback_info info) {
  int64_t a[1];
  if (arg_i64(env, info, 1, a)) return NULL;
  for (;;) {
    int conn = accept4((int)a[0], NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return throw_errno(env, "accept", errno);
    }
    int fds[COMMAND_STDIO_FDS];
    unsigned char *payload = NULL;
    uint32_t len = 0;
    if (receive_request(conn, fds, &payload, &len) < 0) {
      close(conn);
      continue;
    }
    struct timeval none = {0};
    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    struct ucred cred;
    socklen_t cred_len = sizeof cred;
    getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len);
    napi_value obj, v, list, buffer;
    napi_create_object(env, &obj);
    napi_create_int32(env, conn, &v);
    napi_set_named_property(env, obj, "connFd", v);
    napi_create_int32(env, cred.pid, &v);
    napi_set_named_property(env, obj, "pid", v);
    napi_create_array_with_length(env, COMMAND_STDIO_FDS, &list);
    for (uint32_t i = 0; i < COMMAND_STDIO_FDS; i++) {
      napi_create_int32(env, fds[i], &v);
      napi_set_element(env, list, i, v);
    }
    napi_set_named_property(env, obj, "fds", list);
    napi_create_external_buffer(env, len, payload, free_payload, NULL, &buffer);
    napi_set_named_property(env, obj, "payload", buffer);
    return obj;
  }
}

/* dup2(from, to): `to` becomes a copy of `from` (a worker taking its client's stdio). */
static napi_value dup2_fd(napi_env env, napi_callback_info info) {
  int64_t a[2];
  if (arg_i64(env, info, 2, a)) return NULL;
  int rc;
  do { rc = dup2((int)a[0], (int)a[1]); } while (rc < 0 && errno == EINTR);
  if (rc < 0) return throw_errno(env, "dup2", errno);
  return NULL;
}

#define EXPORT(name, fn) do { napi_value f; napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f); napi_set_named_property(env, exports, name, f); } while (0)

static napi_value init(napi_env env, napi_value exports) {
  EXPORT("alignedBuffer", aligned_buffer);
  EXPORT("bufferAddress", buffer_address);
  EXPORT("blockDeviceGeometry", block_device_geometry);
  EXPORT("peerCredentials", peer_credentials);
  EXPORT("pidfdOpen", pidfd_open);
  EXPORT("pollReadable", poll_readable);
  EXPORT("wdSetTimeout", wd_set_timeout);
  EXPORT("wdGetTimeout", wd_get_timeout);
  EXPORT("wdGetTimeLeft", wd_get_time_left);
  EXPORT("wdKeepalive", wd_keepalive);
  EXPORT("sdNotify", sd_notify);
  EXPORT("flockNb", flock_nb);
  EXPORT("funlock", funlock);
  EXPORT("loopSetSizeLimit", loop_set_size_limit);
  EXPORT("listenUnix", listen_unix);
  EXPORT("commandAccept", command_accept);
  EXPORT("dup2", dup2_fd);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
