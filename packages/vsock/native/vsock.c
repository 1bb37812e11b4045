// AF_VSOCK for a Firecracker/Kata guest: connect a stream socket to (cid, port) off the event loop, and
// shut one down (to wake a blocked read). Everything else (reading, writing, closing) is plain fd I/O in JS.
#include <errno.h>
#include <node_api.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#ifdef __linux__
#include <linux/vm_sockets.h>
#endif

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "N-API call failed: " #call);       \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  uint32_t cid;
  uint32_t port;
  int32_t timeout_ms;
  int fd;
  int err;
} connect_job;

static void connect_execute(napi_env env, void* data) {
  (void)env;
  connect_job* job = data;
#ifdef __linux__
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    job->err = errno;
    return;
  }
  struct sockaddr_vm addr;
  memset(&addr, 0, sizeof addr);
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = job->cid;
  addr.svm_port = job->port;
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      job->err = errno;
      close(fd);
      return;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int ready = poll(&p, 1, job->timeout_ms);
    if (ready == 0) {
      job->err = ETIMEDOUT;
      close(fd);
      return;
    }
    if (ready < 0) {
      job->err = errno;
      close(fd);
      return;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
      job->err = soerr != 0 ? soerr : errno;
      close(fd);
      return;
    }
  }
  // Back to blocking: the JS side reads and writes through the libuv threadpool.
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    job->err = errno;
    close(fd);
    return;
  }
  job->fd = fd;
#else
  job->err = EAFNOSUPPORT;
#endif
}

static const char* errno_code(int err) {
  switch (err) {
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENODEV: return "ENODEV";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    default: return "EIO";
  }
}

static void connect_complete(napi_env env, napi_status status, void* data) {
  connect_job* job = data;
  if (status == napi_ok && job->err == 0) {
    napi_value fd;
    napi_create_int32(env, job->fd, &fd);
    napi_resolve_deferred(env, job->deferred, fd);
  } else {
    int err = job->err != 0 ? job->err : EIO;
    napi_value message, code, error;
    napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &message);
    napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, message, &error);
    napi_set_named_property(env, error, "code", code);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

// connect(cid: number, port: number, timeoutMs: number): Promise<number /* fd */>
static napi_value Connect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "connect(cid, port, timeoutMs)");
    return NULL;
  }
  uint32_t cid, port;
  int32_t timeout_ms;
  CHECK(napi_get_value_uint32(env, argv[0], &cid));
  CHECK(napi_get_value_uint32(env, argv[1], &port));
  CHECK(napi_get_value_int32(env, argv[2], &timeout_ms));
  connect_job* job = calloc(1, sizeof *job);
  if (!job) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->fd = -1;
  job->cid = cid;
  job->port = port;
  job->timeout_ms = timeout_ms;
  napi_value promise, name;
  CHECK(napi_create_promise(env, &job->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "ferry-vsock-connect", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, connect_execute, connect_complete, job, &job->work));
  CHECK(napi_queue_async_work(env, job->work));
  return promise;
}

// shutdown(fd: number, writeOnly?: boolean): void — both directions (wakes a read blocked on the socket,
// before the fd is closed), or only the sending side: the peer reads EOF, this side can still read (half-close).
static napi_value Shutdown(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  bool write_only = false;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (argc > 1) CHECK(napi_get_value_bool(env, argv[1], &write_only));
  shutdown(fd, write_only ? SHUT_WR : SHUT_RDWR);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  CHECK(napi_create_function(env, "connect", NAPI_AUTO_LENGTH, Connect, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "connect", fn));
  CHECK(napi_create_function(env, "shutdown", NAPI_AUTO_LENGTH, Shutdown, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "shutdown", fn));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
