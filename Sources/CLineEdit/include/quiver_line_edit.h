#ifndef QUIVER_LINE_EDIT_H
#define QUIVER_LINE_EDIT_H

/// Reads one line from the terminal with libedit's line editing (libedit's callback
/// interface, so the wait can also watch `interrupt_fd`). Returns a malloc'd line without
/// its newline, or NULL: at end of input (*interrupted == 0), or when a byte arrived on
/// `interrupt_fd` (*interrupted == 1; the half-typed line is dropped). Bytes already
/// waiting on `interrupt_fd` are drained first. One caller at a time.
char *quiver_edit_line(const char *prompt, int interrupt_fd, int *interrupted);

/// Makes Ctrl-C typed as a character (when the terminal does not turn it into SIGINT)
/// write a byte to `interrupt_fd`, like the signal handler does.
void quiver_edit_bind_interrupt(int interrupt_fd);

#endif
