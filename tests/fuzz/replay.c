/*
 * replay.c - runs a fuzz target's function on every file of the folders
 * given (its committed corpus), so every build replays it, with or without
 * libFuzzer. A failed invariant aborts; exit 0 when every input passed.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bytes of path (malloc'd, *size set), or NULL. */
static uint8_t *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t cap = 0, n = 0, got;
    if (f == NULL) {
        return NULL;
    }
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *p = realloc(data, cap);
            if (p == NULL) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = p;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(data);
        return NULL;
    }
    *size = n;
    return data;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every regular file of dir, in name order; -1 when one cannot be read. */
static int replay_dir(const char *dir, int *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name), r = 0;
    if (n < 0) {
        fprintf(stderr, "cannot list %s\n", dir);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char path[4096];
            size_t size = 0;
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            uint8_t *data = read_all(path, &size);
            if (data == NULL) {
                fprintf(stderr, "cannot read %s\n", path);
                r = -1;
            } else {
                fprintf(stderr, "replaying %s (%zu bytes)\n", path, size);
                LLVMFuzzerTestOneInput(data, size);
                (*count)++;
            }
            free(data);
        }
        free(names[i]);
    }
    free(names);
    return r;
}

int main(int argc, char **argv)
{
    int count = 0, r = 0;
    for (int i = 1; i < argc; i++) {
        r |= replay_dir(argv[i], &count);
    }
    printf("replayed %d inputs\n", count);
    return r == 0 && count > 0 ? 0 : 1;
}
