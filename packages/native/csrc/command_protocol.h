/*
 * The command server's wire format, shared by the front end (leasehold_fast.c) and the worker's
 * accept (leasehold_native.c). The TypeScript side is packages/cli/src/command-server/protocol.ts;
 * keep the three in step.
 *
 * Request, front end -> worker, on a Unix stream socket:
 *   header  (12 bytes, sent with SCM_RIGHTS carrying exactly 3 fds: the front end's stdin, stdout
 *           and stderr): magic "LHCQ", u32 LE version, u32 LE payload length (at most
 *           COMMAND_MAX_PAYLOAD_BYTES)
 *   payload u32 LE argc, u32 LE envc, u32 LE umask, then argc + 1 + envc NUL-terminated strings:
 *           argv[0..argc), the working directory, the environment ("NAME=value")
 * Reply, worker -> front end, one of:
 *   "LHCS" + i32 LE exit status   the command ran and exited with that status
 *   "LHCR" + u32 LE reason        refused before anything ran: the front end runs the command itself
 * A connection that closes with neither means the worker died while the command ran (a signal).
 */
#ifndef LEASEHOLD_COMMAND_PROTOCOL_H
#define LEASEHOLD_COMMAND_PROTOCOL_H

#define COMMAND_REQUEST_MAGIC "LHCQ"
#define COMMAND_STATUS_MAGIC "LHCS"
#define COMMAND_REFUSED_MAGIC "LHCR"
#define COMMAND_PROTOCOL_VERSION 1u
#define COMMAND_HEADER_BYTES 12u
#define COMMAND_REPLY_BYTES 8u
#define COMMAND_STDIO_FDS 3
/* argv and environment together; ARG_MAX on Linux is 2 MiB by default. */
#define COMMAND_MAX_PAYLOAD_BYTES (2u * 1024u * 1024u)

/* Refusal reasons (u32 after "LHCR"). */
#define COMMAND_REFUSED_UID 1u       /* the peer runs as another user than the server */
#define COMMAND_REFUSED_MALFORMED 2u /* bad magic, version, length or fds */
#define COMMAND_REFUSED_COMMAND 3u   /* a command the server does not run (the worker decides) */

#endif
