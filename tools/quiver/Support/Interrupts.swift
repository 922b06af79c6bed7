import Foundation
import Synchronization

/// Interrupts (SIGINT) counted by a signal handler; the console compares counts to notice
/// Ctrl-C.
let interrupts = Atomic<Int>(0)

/// A pipe the SIGINT handler writes a byte to, so a wait for input can end on Ctrl-C.
let interruptPipe: (read: Int32, write: Int32) = {
    var fds: [Int32] = [0, 0]
    pipe(&fds)
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return (fds[0], fds[1])
}()
