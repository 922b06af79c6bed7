/*
 * Shows LMDB 0.9's read-transaction race that Quiver works around
 * (LMDBEnvironment.settled): a reader preempted inside mdb_txn_renew, between
 * reading the newest transaction id and copying the roots of the meta page of
 * that id's parity, reads a later commit's snapshot under the older id -- and
 * the same thread's next read can then see an older snapshot than this one.
 *
 * One writer commits in a loop, each commit recording its own id under
 * "stamp"; readers renew, read the stamp, and count reads whose stamp differs
 * from mdb_txn_id and reads older than the thread's previous one. With
 * RETRY=1 a reader whose stamp is newer than its id is renewed first, as
 * Quiver does. DURABLE=1 makes synchronous commits (a longer window).
 *
 *   cc -O2 reader_race.c -o reader_race -llmdb -lpthread
 *   DURABLE=1 ./reader_race 20 4          # seconds, readers
 *   DURABLE=1 RETRY=1 ./reader_race 20 4
 */
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static MDB_env *env;
static MDB_dbi dbi;
static volatile int stop;
static long mislabeled[64], reads[64], back[64], renewals[64];

static void *writer(void *arg) {
    long commits = 0;
    (void)arg;
    while (!stop) {
        MDB_txn *t;
        if (mdb_txn_begin(env, NULL, 0, &t)) abort();
        size_t id = mdb_txn_id(t);
        MDB_val k = {5, "stamp"}, v = {sizeof id, &id};
        if (mdb_put(t, dbi, &k, &v, 0) || mdb_txn_commit(t)) abort();
        commits++;
    }
    printf("commits %ld\n", commits);
    return NULL;
}

static int stampOf(MDB_txn *t, size_t *out) {
    MDB_val k = {5, "stamp"}, v;
    if (mdb_get(t, dbi, &k, &v) != 0) return 0;
    memcpy(out, v.mv_data, sizeof *out);
    return 1;
}

static void *reader(void *arg) {
    long i = (long)arg;
    int retry = getenv("RETRY") != NULL;
    size_t last = 0, stamp;
    MDB_txn *t;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &t)) abort();
    mdb_txn_reset(t);
    while (!stop) {
        if (mdb_txn_renew(t)) abort();
        while (retry && stampOf(t, &stamp) && stamp > mdb_txn_id(t)) {
            mdb_txn_reset(t);
            if (mdb_txn_renew(t)) abort();
            renewals[i]++;
        }
        if (stampOf(t, &stamp)) {
            if (stamp < last) back[i]++;
            last = stamp;
            if (stamp != mdb_txn_id(t)) mislabeled[i]++;
        }
        reads[i]++;
        mdb_txn_reset(t);
    }
    mdb_txn_abort(t);
    return NULL;
}

int main(int argc, char **argv) {
    int seconds = argc > 1 ? atoi(argv[1]) : 10;
    long readers = argc > 2 ? atol(argv[2]) : 4;
    char dir[] = "/tmp/reader-race-XXXXXX";
    if (readers < 1 || readers > 64 || !mkdtemp(dir)) return 2;
    MDB_txn *t;
    if (mdb_env_create(&env) || mdb_env_set_mapsize(env, 1 << 30)
        || mdb_env_open(env, dir, MDB_NOTLS | (getenv("DURABLE") ? 0 : MDB_NOSYNC), 0644)
        || mdb_txn_begin(env, NULL, 0, &t) || mdb_dbi_open(t, NULL, 0, &dbi) || mdb_txn_commit(t))
        return 1;
    pthread_t w, r[64];
    pthread_create(&w, NULL, writer, NULL);
    for (long i = 0; i < readers; i++) pthread_create(&r[i], NULL, reader, (void *)i);
    sleep(seconds);
    stop = 1;
    pthread_join(w, NULL);
    long m = 0, n = 0, b = 0, rn = 0;
    for (long i = 0; i < readers; i++) {
        pthread_join(r[i], NULL);
        m += mislabeled[i]; n += reads[i]; b += back[i]; rn += renewals[i];
    }
    printf("reads %ld, id not the snapshot's %ld, older than the thread's previous read %ld, renewals %ld\n", n, m, b, rn);
    mdb_env_close(env);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
