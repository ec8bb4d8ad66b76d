/* The pty master, received from the runtime over the console socket. */
#ifndef BERTH_TERMINAL_H
#define BERTH_TERMINAL_H

#include <stddef.h>

int term_listen(char *err, size_t errlen);
int term_accept(int listen_fd);
int term_recv_master(int conn_fd);
void term_resize(int master, unsigned width, unsigned height);
void term_send_eof(int master);
void term_unlink_socket(void);
/* The name to give the runtime; dir is the process folder's absolute path. */
const char *term_socket_path(const char *dir);

#endif
