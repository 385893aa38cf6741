/* bench_util.h - the measurements every benchmark table shares. */
#ifndef QNS_BENCH_UTIL_H
#define QNS_BENCH_UTIL_H

/* Monotonic wall clock in seconds. */
double bench_now_s(void);

/* Round trips per second of a 4-byte ping-pong over two pipes between two
 * processes: the physical limit of a grant/reply round on this machine. */
double bench_raw_pipe(long rounds);
/* The same with both processes on host CPU `cpu` (-1: wherever the kernel
 * puts them), as qns's Pin puts a guest and the simulator. */
double bench_raw_pipe_on(long rounds, int cpu);

#endif
