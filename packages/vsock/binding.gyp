{
  "targets": [
    {
      "target_name": "ferry_vsock",
      "sources": ["native/vsock.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
