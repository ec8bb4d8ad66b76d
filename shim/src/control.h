/* The control FIFO's lines "TYPE WIDTH HEIGHT\n" (types in protocol.h). */
#ifndef BERTH_CONTROL_H
#define BERTH_CONTROL_H

typedef void (*control_cb)(unsigned type, unsigned width, unsigned height);

/* Reads what is available on fd and calls cb once per well-formed line. */
void control_read(int fd, control_cb cb);

#endif
