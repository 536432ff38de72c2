/*
 * The device of `npm run bench -- incumbent`, on Debian's libmodbus (not our code), so that neither
 * package under test is measured against a server of its own side. `libmodbus-counting-server N`
 * listens on N ephemeral loopback ports (one per simulated device, any number of connections each)
 * and prints them on one line, space separated. Each device has 100 holding registers that all change
 * on every read (register i holds the server's request count + i), so a poll that reports only what changed still reports
 * every value. It counts the requests it answers: a line on stdin makes it print the total so far, as
 * proof that every poll a package claims reached the device; end of stdin ends it.
 */
#include <errno.h>
#include <modbus.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_DEVICES 64
#define REGISTERS 100

int main(int argc, char **argv) {
  int devices = argc > 1 ? atoi(argv[1]) : 1;
  if (devices < 1 || devices > MAX_DEVICES) return 1;
  modbus_t *ctx[MAX_DEVICES];
  modbus_mapping_t *map[MAX_DEVICES];
  int listener[MAX_DEVICES];
  /* Which device each open descriptor belongs to: a listener's or a connection's. */
  int device_of[FD_SETSIZE];
  fd_set open_fds;
  FD_ZERO(&open_fds);
  FD_SET(STDIN_FILENO, &open_fds);
  int max_fd = STDIN_FILENO;
  for (int d = 0; d < devices; d++) {
    ctx[d] = modbus_new_tcp("127.0.0.1", 0);
    map[d] = modbus_mapping_new(0, 0, REGISTERS, 0);
    if (ctx[d] == NULL || map[d] == NULL) return 2;
    listener[d] = modbus_tcp_listen(ctx[d], 64);
    if (listener[d] < 0 || listener[d] >= FD_SETSIZE) return 3;
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    if (getsockname(listener[d], (struct sockaddr *)&addr, &len) != 0) return 4;
    printf(d == 0 ? "%d" : " %d", ntohs(addr.sin_port));
    device_of[listener[d]] = d;
    FD_SET(listener[d], &open_fds);
    if (listener[d] > max_fd) max_fd = listener[d];
  }
  printf("\n");
  fflush(stdout);

  unsigned long long requests = 0;
  for (;;) {
    fd_set ready = open_fds;
    if (select(max_fd + 1, &ready, NULL, NULL, NULL) < 0) {
      if (errno == EINTR) continue;
      return 5;
    }
    for (int fd = 0; fd <= max_fd; fd++) {
      if (!FD_ISSET(fd, &ready)) continue;
      if (fd == STDIN_FILENO) {
        char line[64];
        if (fgets(line, sizeof line, stdin) == NULL) return 0;
        printf("%llu\n", requests);
        fflush(stdout);
        continue;
      }
      int d = device_of[fd];
      if (fd == listener[d]) {
        int conn = accept(fd, NULL, NULL);
        if (conn < 0) continue;
        if (conn >= FD_SETSIZE) {
          close(conn);
          continue;
        }
        device_of[conn] = d;
        FD_SET(conn, &open_fds);
        if (conn > max_fd) max_fd = conn;
        continue;
      }
      uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
      modbus_set_socket(ctx[d], fd);
      int rc = modbus_receive(ctx[d], query);
      if (rc > 0) {
        requests++;
        for (int i = 0; i < REGISTERS; i++) map[d]->tab_registers[i] = (uint16_t)(requests + i);
        modbus_reply(ctx[d], query, rc, map[d]);
      } else if (rc == -1) {
        /* The peer closed the connection or sent garbage: drop it as libmodbus's own examples do. */
        close(fd);
        FD_CLR(fd, &open_fds);
      }
    }
  }
}
