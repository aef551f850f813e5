/* sig: the handler only touches a sig_atomic_t, write(2) and _exit(2), all async-signal-safe. */
#include "sig.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t count;
static int fds[2] = {-1, -1};

static void on_signal(int signo)
{
  int saved = errno;
  if (count >= 1) _exit(130); /* the second Ctrl-C: the user means it */
  count = count + 1;
  if (fds[1] >= 0) {
    ssize_t n = write(fds[1], "", 1);
    (void)n; /* a full pipe already wakes the poll */
  }
  errno = saved;
}

int tt_sig_catch(void)
{
  if (fds[0] < 0 && pipe2(fds, O_NONBLOCK | O_CLOEXEC)) {
    fds[0] = fds[1] = -1;
    return TT_E_IO;
  }
  tt_sig_drain();
  count = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGINT);
  sigaddset(&sa.sa_mask, SIGTERM);
  if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL)) return TT_E_IO;
  return 0;
}

void tt_sig_ignore_pipe(void)
{
  struct sigaction old;
  if (sigaction(SIGPIPE, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
      old.sa_handler == SIG_DFL)
    signal(SIGPIPE, SIG_IGN);
}

long tt_sig_count(void)
{
  return count;
}

int tt_sig_fd(void)
{
  return fds[0];
}

void tt_sig_drain(void)
{
  char buf[64];
  if (fds[0] < 0) return;
  while (read(fds[0], buf, sizeof buf) > 0) {
  }
}
