// A small persistent thread pool for Tailor's parallel loops. Single-token decoding issues ~200 parallel
// loops per token, each a few microseconds of work; waking threads through the OS for each one
// (DispatchQueue.concurrentPerform) costs as much as the work. Workers here spin briefly on a generation
// counter and only then sleep on a futex.
#include "CKernels.h"

#include <immintrin.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TK_MAX_WORKERS 63
#define TK_SPIN_ITERS 20000  // ~50-100 µs of pause instructions before sleeping

static struct {
    pthread_mutex_t lock;  // one parallel loop at a time; concurrent callers run serially
    int started;
    int workers;
    _Atomic uint32_t generation;
    _Atomic int64_t next;
    _Atomic int64_t remaining;
    _Atomic int sleepers;
    tk_task_fn fn;
    void *ctx;
    int64_t n;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local int in_pool_task = 0;

static void run_tasks(void) {
    for (;;) {
        const int64_t i = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
        if (i >= pool.n) break;
        pool.fn(pool.ctx, i);
        atomic_fetch_sub_explicit(&pool.remaining, 1, memory_order_release);
    }
}

static void *worker(void *arg) {
    (void)arg;
    in_pool_task = 1;
    uint32_t seen = atomic_load_explicit(&pool.generation, memory_order_acquire);
    for (;;) {
        int spins = 0;
        uint32_t g;
        while ((g = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen) {
            if (++spins < TK_SPIN_ITERS) {
                _mm_pause();
            } else {
                atomic_fetch_add(&pool.sleepers, 1);
                if (atomic_load(&pool.generation) == seen)
                    syscall(SYS_futex, &pool.generation, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
                atomic_fetch_sub(&pool.sleepers, 1);
                spins = 0;
            }
        }
        seen = g;
        run_tasks();
    }
    return NULL;
}

static void start(int workers) {
    pool.workers = 0;
    for (int i = 0; i < workers && i < TK_MAX_WORKERS; i++) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &a, worker, NULL) == 0) pool.workers++;
        pthread_attr_destroy(&a);
    }
    pool.started = 1;
}

void tk_parallel_for(int64_t n, int threads, tk_task_fn fn, void *ctx) {
    if (n <= 0) return;
    if (n == 1 || threads <= 1 || in_pool_task || pthread_mutex_trylock(&pool.lock) != 0) {
        for (int64_t i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    if (!pool.started) start(threads - 1);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.remaining, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    if (atomic_load(&pool.sleepers) > 0)
        syscall(SYS_futex, &pool.generation, FUTEX_WAKE_PRIVATE, TK_MAX_WORKERS, NULL, NULL, 0);
    in_pool_task = 1;
    run_tasks();
    in_pool_task = 0;
    while (atomic_load_explicit(&pool.remaining, memory_order_acquire) > 0) _mm_pause();
    pthread_mutex_unlock(&pool.lock);
}
