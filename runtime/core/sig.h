/* sig: SIGINT/SIGTERM counted by an async-signal-safe handler that also writes a byte to a
 * self-pipe, whose read end the loop polls so that a signal ends a step at once. Process-wide
 * and meant for the one thread that runs the loop. */
#ifndef TT_SIG_H
#define TT_SIG_H

/* Install the handlers (again: resets the count to 0). A signal that arrives while the count
 * is already 1 or more ends the process with _exit(130). 0 or TT_E_IO. */
int tt_sig_catch(void);
/* SIGPIPE ignored, unless the program has its own handler (or ignores it already). Its default
 * ends the process at once, with pool IDs still taken: a closed stdout (tt-lua x | head) or a
 * TLS write to a socket the server closed (libcurl under CURLOPT_NOSIGNAL leaves SIGPIPE to the
 * program). Ignored, the write fails with EPIPE and the run ends as it would have. */
void tt_sig_ignore_pipe(void);
/* Signals counted since tt_sig_catch (0 before it). */
long tt_sig_count(void);
/* The read end of the self-pipe, or -1 before tt_sig_catch. */
int tt_sig_fd(void);
/* Empty the self-pipe. */
void tt_sig_drain(void);

#endif
