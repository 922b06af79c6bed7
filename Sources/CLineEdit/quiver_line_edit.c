#include "quiver_line_edit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <editline/readline.h>

static char *line_result;
static int line_done;
static int bound_fd = -1;

static void on_line(char *line) {
    line_result = line;
    line_done = 1;
    rl_callback_handler_remove();
}

static int on_ctrl_c(int count, int key) {
    (void)count;
    (void)key;
    if (bound_fd >= 0) {
        char b = 1;
        (void)!write(bound_fd, &b, 1);
    }
    return 0;
}

void quiver_edit_bind_interrupt(int interrupt_fd) {
    bound_fd = interrupt_fd;
    rl_bind_key(3, on_ctrl_c);
}

char *quiver_edit_line(const char *prompt, int interrupt_fd, int *interrupted) {
    char drain[64];
    int flags = fcntl(interrupt_fd, F_GETFL);
    fcntl(interrupt_fd, F_SETFL, flags | O_NONBLOCK);
    while (read(interrupt_fd, drain, sizeof drain) > 0) {}
    line_result = NULL;
    line_done = 0;
    *interrupted = 0;
    rl_callback_handler_install(prompt, on_line);
    while (!line_done) {
        struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {interrupt_fd, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[1].revents & POLLIN) {
            while (read(interrupt_fd, drain, sizeof drain) > 0) {}
            rl_callback_handler_remove();
            *interrupted = 1;
            return NULL;
        }
        if (fds[0].revents & POLLNVAL) break;  /* stdin closed under us: end of input */
        if (fds[0].revents & POLLIN) rl_callback_read_char();
        /* A hung-up terminal polls readable forever with nothing to read: end of input. */
        if (!line_done && (fds[0].revents & (POLLHUP | POLLERR))) break;
    }
    if (!line_done) rl_callback_handler_remove();
    return line_result;
}
