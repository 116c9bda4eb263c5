/*
 * leasehold-fast: the command front end that starts in a millisecond. A Node process needs 40-80 ms
 * to start on these machines, which is most of what an lvm command costs; this program hands its
 * argv, environment, working directory, umask and its stdin/stdout/stderr (SCM_RIGHTS) to a warm
 * worker of `leasehold command-server`, which becomes the command, and exits with its status.
 * Where no server answers, or the server refuses (another user, a command it does not run), it
 * runs the command itself: exec node with the leasehold CLI, so linking `lvs` to it is always safe.
 *
 * Environment: LEASEHOLD_COMMAND_SOCKET (default /run/leasehold/commands.sock),
 * LEASEHOLD_NO_COMMAND_SERVER=1 (always run it itself), LEASEHOLD_NODE (default: node on PATH),
 * LEASEHOLD_CLI_JS (default: cli/bin/leasehold.js found from this executable's own path).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "command_protocol.h"

#define DEFAULT_COMMAND_SOCKET "/run/leasehold/commands.sock"
/* From build/Release/ (node-gyp's output) to the CLI's launcher: /proc/self/exe is the real file,
 * also when the program runs through a link (/usr/sbin/leasehold, lvs). */
#define CLI_JS_FROM_EXE_DIR "../../../cli/bin/leasehold.js"
/* The status a command killed by a signal reports to its shell is 128 + the signal; the worker's
 * signal is not known here, so a worker that vanished reports what a SIGKILL would. */
#define EXIT_WORKER_VANISHED (128 + SIGKILL)
#define EXIT_CANNOT_RUN 127

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = (v >> 24) & 0xff;
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int cli_js_path(char *out, size_t size) {
  const char *env = getenv("LEASEHOLD_CLI_JS");
  if (env != NULL && env[0] != '\0') {
    if (strlen(env) >= size) return -1;
    strcpy(out, env);
    return 0;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0) return -1;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash == NULL) return -1;
  *slash = '\0';
  char joined[PATH_MAX];
  if (snprintf(joined, sizeof joined, "%s/%s", exe, CLI_JS_FROM_EXE_DIR) >= (int)sizeof joined) return -1;
  return realpath(joined, out) != NULL ? 0 : -1;
}

/* Runs the command in this process's place: node + the CLI, argv[0] kept (a link named lvs stays lvs). */
static int run_here(int argc, char **argv) {
  char script[PATH_MAX];
  if (cli_js_path(script, sizeof script) < 0) {
    fprintf(stderr, "leasehold-fast: cannot find leasehold.js beside this program; set LEASEHOLD_CLI_JS\n");
    return EXIT_CANNOT_RUN;
  }
  const char *node = getenv("LEASEHOLD_NODE");
  if (node == NULL || node[0] == '\0') node = "node";
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (args == NULL) return EXIT_CANNOT_RUN;
  args[0] = argv[0];
  args[1] = script;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  execvp(node, args);
  fprintf(stderr, "leasehold-fast: cannot run %s: %s\n", node, strerror(errno));
  return EXIT_CANNOT_RUN;
}

static int connect_server(void) {
  const char *path = getenv("LEASEHOLD_COMMAND_SOCKET");
  if (path == NULL || path[0] == '\0') path = DEFAULT_COMMAND_SOCKET;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) return -1;
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Appends len bytes to a growing buffer; -1 when it would pass the protocol's limit. */
static int append(unsigned char **buf, size_t *used, size_t *cap, const void *data, size_t len) {
  if (*used + len > COMMAND_MAX_PAYLOAD_BYTES) return -1;
  if (*used + len > *cap) {
    size_t next = *cap == 0 ? 4096 : *cap;
    while (next < *used + len) next *= 2;
    unsigned char *grown = realloc(*buf, next);
    if (grown == NULL) return -1;
    *buf = grown;
    *cap = next;
  }
  memcpy(*buf + *used, data, len);
  *used += len;
  return 0;
}

static int build_payload(int argc, char **argv, unsigned char **out, size_t *out_len) {
  extern char **environ;
  unsigned char *buf = NULL;
  size_t used = 0, cap = 0;
  uint32_t envc = 0;
  for (char **e = environ; *e != NULL; e++) envc++;
  mode_t mask = umask(0);
  umask(mask);
  unsigned char head[12];
  put_u32(head, (uint32_t)argc);
  put_u32(head + 4, envc);
  put_u32(head + 8, (uint32_t)mask);
  if (append(&buf, &used, &cap, head, sizeof head) < 0) goto fail;
  for (int i = 0; i < argc; i++)
    if (append(&buf, &used, &cap, argv[i], strlen(argv[i]) + 1) < 0) goto fail;
  char *cwd = getcwd(NULL, 0);
  if (cwd == NULL) goto fail;
  int rc = append(&buf, &used, &cap, cwd, strlen(cwd) + 1);
  free(cwd);
  if (rc < 0) goto fail;
  for (char **e = environ; *e != NULL; e++)
    if (append(&buf, &used, &cap, *e, strlen(*e) + 1) < 0) goto fail;
  *out = buf;
  *out_len = used;
  return 0;
fail:
  free(buf);
  return -1;
}

/* send(), not write(): MSG_NOSIGNAL, since an ignored SIGPIPE would pass to the exec'd fallback. */
static int send_all(int fd, const unsigned char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

static int send_request(int sock, const unsigned char *payload, size_t len) {
  unsigned char header[COMMAND_HEADER_BYTES];
  memcpy(header, COMMAND_REQUEST_MAGIC, 4);
  put_u32(header + 4, COMMAND_PROTOCOL_VERSION);
  put_u32(header + 8, (uint32_t)len);
  int fds[COMMAND_STDIO_FDS] = {0, 1, 2};
  char control[CMSG_SPACE(sizeof fds)];
  memset(control, 0, sizeof control);
  struct iovec iov = {.iov_base = header, .iov_len = sizeof header};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
  ssize_t n;
  do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof header) return -1;
  return send_all(sock, payload, len);
}

/* Reads the 8-byte reply: 1 status, 0 refused (run it here), -1 closed without a reply. */
static int read_reply(int sock, int *value) {
  unsigned char reply[COMMAND_REPLY_BYTES];
  size_t got = 0;
  while (got < sizeof reply) {
    ssize_t n = read(sock, reply + got, sizeof reply - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  *value = (int)(int32_t)get_u32(reply + 4);
  if (memcmp(reply, COMMAND_STATUS_MAGIC, 4) == 0) return 1;
  if (memcmp(reply, COMMAND_REFUSED_MAGIC, 4) == 0) return 0;
  return -1;
}

/* fds 0-2 must exist to be passed: a closed one is given /dev/null, as a shell would. */
static void ensure_stdio(void) {
  for (int fd = 0; fd < COMMAND_STDIO_FDS; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) continue;
    int opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened >= 0 && opened != fd) {
      dup2(opened, fd);
      close(opened);
    }
  }
}

int main(int argc, char **argv) {
  const char *off = getenv("LEASEHOLD_NO_COMMAND_SERVER");
  if ((off != NULL && strcmp(off, "1") == 0) || argc < 1) return run_here(argc, argv);
  ensure_stdio();
  int sock = connect_server();
  if (sock < 0) return run_here(argc, argv);
  unsigned char *payload = NULL;
  size_t len = 0;
  if (build_payload(argc, argv, &payload, &len) < 0 || send_request(sock, payload, len) < 0) {
    free(payload);
    close(sock);
    return run_here(argc, argv);
  }
  free(payload);
  int value = 0;
  int kind = read_reply(sock, &value);
  close(sock);
  if (kind == 0) return run_here(argc, argv);
  if (kind < 0) {
    fprintf(stderr, "leasehold-fast: the command's worker ended without an exit status\n");
    return EXIT_WORKER_VANISHED;
  }
  return value & 0xff;
}
