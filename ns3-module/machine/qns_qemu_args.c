/*
 * qns_qemu_args.c - the allow-list of QEMU options that may come from data
 * (qns_qemu_args.h). Each option has a shape: a first word from a set, then
 * name=value properties from a set, values of a few safe characters. QEMU
 * reads ",," in a value as one comma; no allowed value holds a comma, so a
 * ",," is refused with everything else that is not plainly allowed.
 */
#define _GNU_SOURCE
#include "qns_qemu_args.h"

#include "qns_errbuf.h"

#include <glib.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int only(const char *s, const char *chars)
{
    return *s != '\0' && strspn(s, chars) == strlen(s);
}

static int in_set(const char *s, const char *const *set)
{
    for (; *set; set++) {
        if (strcmp(s, *set) == 0) {
            return 1;
        }
    }
    return 0;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"
#define SIZE_CHARS DIGITS "KMGTkmgt"

/* The shape of one option's value. */
typedef struct shape {
    const char *const *firsts; /* the first word: one of these, */
    const char *first_chars;   /* or (firsts NULL) of these characters */
    int first_is_prop;         /* the first word may also be a property */
    const char *const *props;  /* property names; "*" any of prop_chars */
    const char *prop_chars;
    const char *value_chars;
} shape;

static const char *const machines[] = {"pc", "q35", "microvm", "isapc", NULL};
static const char *const machine_props[] = {"type",
                                            "accel",
                                            "hpet",
                                            "pit",
                                            "pic",
                                            "acpi",
                                            "smm",
                                            "usb",
                                            "vmport",
                                            "graphics",
                                            "i8042",
                                            "sata",
                                            "smbus",
                                            "mem-merge",
                                            "dump-guest-core",
                                            "max-ram-below-4g",
                                            NULL};
static const char *const any_prop[] = {"*", NULL};
static const char *const smp_props[] = {"cpus",    "sockets", "dies",    "clusters",
                                        "modules", "books",   "drawers", "cores",
                                        "threads", "maxcpus", NULL};
static const char *const mem_props[] = {"size", "slots", "maxmem", NULL};
static const char *const tcg[] = {"tcg", NULL};
static const char *const accel_props[] = {"thread", "tb-size", "one-insn-per-tb", "split-wx", NULL};
static const char *const none[] = {"none", NULL};
static const char *const nics[] = {"e1000", "virtio-net-pci", NULL};
static const char *const nic_props[] = {"netdev",
                                        "mac",
                                        "id",
                                        "bus",
                                        "addr",
                                        "status",
                                        "ioeventfd",
                                        "csum",
                                        "gso",
                                        "guest_csum",
                                        "guest_tso4",
                                        "guest_tso6",
                                        "guest_ecn",
                                        "guest_ufo",
                                        "guest_announce",
                                        "host_tso4",
                                        "host_tso6",
                                        "host_ecn",
                                        "host_ufo",
                                        "mrg_rxbuf",
                                        "mq",
                                        "vectors",
                                        "event_idx",
                                        "indirect_desc",
                                        "packed",
                                        "rx_queue_size",
                                        "tx_queue_size",
                                        "host_mtu",
                                        "speed",
                                        "duplex",
                                        "disable-legacy",
                                        "disable-modern",
                                        "autonegotiation",
                                        "mitigation",
                                        "extra_mac_registers",
                                        "migrate_tso_props",
                                        "x-pcie-lnksta-dllla",
                                        NULL};

static const shape machine_shape = {machines, NULL, 1, machine_props, NULL, LOWER DIGITS ".-"};
static const shape cpu_shape = {NULL,     LOWER UPPER DIGITS "_.-",  0,
                                any_prop, LOWER UPPER DIGITS "_.+-", LOWER UPPER DIGITS "_.-"};
static const shape smp_shape = {NULL, DIGITS, 1, smp_props, NULL, DIGITS};
static const shape mem_shape = {NULL, SIZE_CHARS, 1, mem_props, NULL, SIZE_CHARS};
static const shape accel_shape = {tcg, NULL, 0, accel_props, NULL, LOWER DIGITS};
static const shape none_shape = {none, NULL, 0, NULL, NULL, NULL};
static const shape device_shape = {nics, NULL, 0, nic_props, NULL, LOWER UPPER DIGITS "_.:-"};

static const struct option {
    const char *name;
    const shape *value; /* NULL: a switch without a value */
} options[] = {
    {"-machine", &machine_shape}, {"-M", &machine_shape},    {"-cpu", &cpu_shape},
    {"-smp", &smp_shape},         {"-m", &mem_shape},        {"-accel", &accel_shape},
    {"-display", &none_shape},    {"-vga", &none_shape},     {"-device", &device_shape},
    {"-nodefaults", NULL},        {"-no-user-config", NULL}, {"-no-reboot", NULL},
};

static int prop_ok(const shape *s, const char *word)
{
    const char *eq = strchr(word, '=');
    if (eq == NULL) {
        /* A bare name: a CPU feature (+x, -x, x). */
        return s->props == any_prop && only(word, s->prop_chars);
    }
    char *name = g_strndup(word, (size_t)(eq - word));
    int ok = (s->props == any_prop ? only(name, s->prop_chars)
                                   : s->props != NULL && in_set(name, s->props)) &&
             only(eq + 1, s->value_chars);
    g_free(name);
    return ok;
}

/* VALUE has shape S: 0, or -1 with the offending word in errbuf. */
static int value_check(const char *option, const shape *s, const char *value, char *errbuf)
{
    gchar **words = g_strsplit(value, ",", -1);
    int r = 0;
    for (gchar **w = words; r == 0 && *w; w++) {
        int ok;
        if (w == words) {
            ok = s->firsts ? in_set(*w, s->firsts) : only(*w, s->first_chars);
            ok = ok || (s->firsts == machines && g_str_has_prefix(*w, "pc-") &&
                        only(*w, LOWER DIGITS ".-"));
            ok = ok || (s->first_is_prop && strchr(*w, '=') && prop_ok(s, *w));
        } else {
            ok = prop_ok(s, *w);
        }
        if (!ok) {
            gchar *shown = g_strescape(value, NULL), *part = g_strescape(*w, NULL);
            r = qns_fail(errbuf, "%s '%s': '%s' is not a value qns passes to QEMU from data",
                         option, shown, part);
            g_free(part);
            g_free(shown);
        }
    }
    g_strfreev(words);
    return r;
}

int qns_qemu_device_check(const char *value, char *errbuf)
{
    return value_check("-device", &device_shape, value, errbuf);
}

const char *const qns_qemu_machine_args[] = {
    "-machine", "pc", "-cpu", "qemu64", "-smp", "1", "-accel", "tcg",
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", NULL};

int qns_qemu_args_check(const char *const *argv, char *errbuf)
{
    for (const char *const *a = argv; a && *a; a++) {
        /* QEMU takes --option as -option. */
        const char *name = g_str_has_prefix(*a, "--") ? *a + 1 : *a;
        const struct option *o = NULL;
        for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
            if (strcmp(name, options[i].name) == 0) {
                o = &options[i];
            }
        }
        if (o == NULL) {
            gchar *shown = g_strescape(*a, NULL);
            int r = qns_fail(errbuf,
                             "'%s' is not an option qns passes to QEMU from data: it may touch the "
                             "host (allowed: " QNS_QEMU_ARGS_ALLOWED ")",
                             shown);
            g_free(shown);
            return r;
        }
        if (o->value == NULL) {
            continue;
        }
        if (a[1] == NULL) {
            return qns_fail(errbuf, "%s has no value", o->name);
        }
        a++;
        if (value_check(o->name, o->value, *a, errbuf) < 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- GUEST-INFO: build-guest.sh and build-debian.sh write it, and a package
 * from anyone carries it, so nothing in it reaches QEMU unchecked. */

/* What the image builders write into [guest]. */
static const char *const known_keys[] = {"key",
                                         "kind",
                                         "kernel",
                                         "kernel_release",
                                         "kernel_boot",
                                         "kernel_sha256",
                                         "kernel_size",
                                         "initrd",
                                         "initrd_sha256",
                                         "initrd_size",
                                         "initrd_unpacked_size",
                                         "disk",
                                         "disk_sha256",
                                         "disk_size",
                                         "modules",
                                         "cmdline",
                                         "qemu_args",
                                         "nic_e1000",
                                         "nic_virtio",
                                         "agent",
                                         "snapshot",
                                         "packages_requested",
                                         "build_seconds",
                                         NULL};

static int known(const char *key)
{
    for (const char *const *k = known_keys; *k; k++) {
        if (strcmp(key, *k) == 0) {
            return 1;
        }
    }
    return 0;
}

static int has_control(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return 1;
        }
    }
    return 0;
}

/* A file in the image's folder: letters, digits, '.', '-', '_', no leading
 * dot, so nothing QEMU could read as an option or a path elsewhere. */
static int plain_name(const char *s)
{
    return *s != '\0' && *s != '.' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
               strlen(s);
}

static int check_entries(GKeyFile *kf, const char *path, char *errbuf)
{
    gsize ngroups = 0;
    gchar **groups = g_key_file_get_groups(kf, &ngroups);
    int r = 0;
    for (gchar **g = groups; r == 0 && *g; g++) {
        int guest = strcmp(*g, "guest") == 0;
        if (!guest && strcmp(*g, "packages") != 0) {
            gchar *shown = g_strescape(*g, NULL);
            r = qns_fail(errbuf, "%s: unknown group [%s] (only [guest] and [packages])", path,
                         shown);
            g_free(shown);
            break;
        }
        gchar **keys = g_key_file_get_keys(kf, *g, NULL, NULL);
        for (gchar **k = keys; r == 0 && k && *k; k++) {
            gchar *v = g_key_file_get_string(kf, *g, *k, NULL);
            if ((guest && !known(*k)) || has_control(*k) || v == NULL || has_control(v)) {
                gchar *shown = g_strescape(*k, NULL);
                r = qns_fail(errbuf, "%s: [%s] %s: %s", path, *g, shown,
                             guest && !known(*k) ? "not a key qns knows"
                                                 : "holds control characters or cannot be read");
                g_free(shown);
            }
            g_free(v);
        }
        g_strfreev(keys);
    }
    g_strfreev(groups);
    return r;
}

static int check_files(GKeyFile *kf, const char *path, char *errbuf)
{
    static const char *const files[] = {"kernel", "initrd", "disk"};
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        gchar *v = g_key_file_get_string(kf, "guest", files[i], NULL);
        int ok = v == NULL || plain_name(v);
        if (!ok) {
            gchar *shown = g_strescape(v, NULL);
            qns_fail(errbuf,
                     "%s: %s '%s' is not a plain file name in the image's folder (letters, "
                     "digits, '.', '-', '_')",
                     path, files[i], shown);
            g_free(shown);
        }
        g_free(v);
        if (!ok) {
            return -1;
        }
    }
    return 0;
}

/* qemu_args: allowed options, and -kernel/-initrd naming the image's own. */
static int check_qemu_args(GKeyFile *kf, const char *path, char *errbuf)
{
    gchar *args = g_key_file_get_string(kf, "guest", "qemu_args", NULL);
    gchar *kernel = g_key_file_get_string(kf, "guest", "kernel", NULL);
    gchar *initrd = g_key_file_get_string(kf, "guest", "initrd", NULL);
    gchar **words = g_strsplit_set(args ? args : "", " \t", -1);
    GPtrArray *rest = g_ptr_array_new();
    char e[QNS_ERRBUF_SIZE];
    int r = 0;
    for (gchar **w = words; r == 0 && *w; w++) {
        int is_kernel = strcmp(*w, "-kernel") == 0, is_initrd = strcmp(*w, "-initrd") == 0;
        if (**w == '\0') {
            continue;
        }
        if (is_kernel || is_initrd) {
            const char *own = is_kernel ? kernel : initrd;
            if (w[1] == NULL || own == NULL || strcmp(w[1], own) != 0) {
                r = qns_fail(errbuf, "%s: qemu_args: %s must name the image's %s file", path, *w,
                             is_kernel ? "kernel" : "initrd");
            }
            w++;
            continue;
        }
        g_ptr_array_add(rest, *w);
    }
    g_ptr_array_add(rest, NULL);
    if (r == 0 && qns_qemu_args_check((const char *const *)rest->pdata, e) < 0) {
        r = qns_fail(errbuf, "%s: qemu_args: %s", path, e);
    }
    g_ptr_array_free(rest, TRUE);
    g_strfreev(words);
    g_free(initrd);
    g_free(kernel);
    g_free(args);
    return r;
}

/* nic_e1000 and nic_virtio: a -device value of that model, on netdev=ID
 * with mac=MAC, which qns fills in. */
static int check_nics(GKeyFile *kf, const char *path, char *errbuf)
{
    static const struct {
        const char *key, *model;
    } templates[] = {{"nic_e1000", "e1000,"}, {"nic_virtio", "virtio-net-pci,"}};
    char e[QNS_ERRBUF_SIZE];
    int r = 0;
    for (size_t i = 0; r == 0 && i < G_N_ELEMENTS(templates); i++) {
        gchar *v = g_key_file_get_string(kf, "guest", templates[i].key, NULL);
        if (v == NULL) {
            continue;
        }
        gchar *padded = g_strconcat(",", v, ",", NULL);
        if (!g_str_has_prefix(v, templates[i].model) || !strstr(padded, ",netdev=ID,") ||
            !strstr(padded, ",mac=MAC,")) {
            gchar *shown = g_strescape(v, NULL);
            r = qns_fail(errbuf, "%s: %s '%s' is not %snetdev=ID,mac=MAC[,property=value...]", path,
                         templates[i].key, shown, templates[i].model);
            g_free(shown);
        } else if (qns_qemu_device_check(v, e) < 0) {
            r = qns_fail(errbuf, "%s: %s: %s", path, templates[i].key, e);
        }
        g_free(padded);
        g_free(v);
    }
    return r;
}

/* path loaded and checked: the key file, or NULL with the reason. */
static GKeyFile *load_checked(const char *path, char *errbuf)
{
    GKeyFile *kf = g_key_file_new();
    GError *ge = NULL;
    int r = 0;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &ge)) {
        r = qns_fail(errbuf, "cannot read %s: %s", path, ge->message);
        g_error_free(ge);
    }
    r = r == 0 ? check_entries(kf, path, errbuf) : r;
    r = r == 0 ? check_files(kf, path, errbuf) : r;
    r = r == 0 ? check_qemu_args(kf, path, errbuf) : r;
    r = r == 0 ? check_nics(kf, path, errbuf) : r;
    if (r < 0) {
        g_key_file_free(kf);
        return NULL;
    }
    return kf;
}

int qns_guest_info_check(const char *path, char *errbuf)
{
    GKeyFile *kf = load_checked(path, errbuf);
    g_key_file_free(kf);
    return kf ? 0 : -1;
}

/* qemu_args' words without -kernel and -initrd and their values. */
static char **machine_words(const char *args)
{
    gchar **words = g_strsplit_set(args, " \t", -1);
    GPtrArray *out = g_ptr_array_new();
    for (gchar **w = words; *w; w++) {
        if ((strcmp(*w, "-kernel") == 0 || strcmp(*w, "-initrd") == 0) && w[1] != NULL) {
            w++;
        } else if (**w != '\0') {
            g_ptr_array_add(out, g_strdup(*w));
        }
    }
    g_ptr_array_add(out, NULL);
    g_strfreev(words);
    return (char **)g_ptr_array_free(out, FALSE);
}

int qns_guest_info_read(const char *path, qns_guest_info *out, char *errbuf)
{
    static const char *const required[] = {"kernel",    "initrd",    "cmdline",
                                           "qemu_args", "nic_e1000", "nic_virtio"};
    memset(out, 0, sizeof(*out));
    GKeyFile *kf = load_checked(path, errbuf);
    if (kf == NULL) {
        return -1;
    }
    char *v[G_N_ELEMENTS(required)];
    int r = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(required); i++) {
        v[i] = g_key_file_get_string(kf, "guest", required[i], NULL);
        if (v[i] == NULL && r == 0) {
            r = qns_fail(errbuf, "%s has no %s", path, required[i]);
        }
    }
    out->kernel = v[0];
    out->initrd = v[1];
    out->cmdline = v[2];
    out->machine = r == 0 ? machine_words(v[3]) : NULL;
    g_free(v[3]);
    out->nic_e1000 = v[4];
    out->nic_virtio = v[5];
    out->disk = g_key_file_get_string(kf, "guest", "disk", NULL);
    char *snap = g_key_file_get_string(kf, "guest", "snapshot", NULL);
    out->snapshot = snap && strcmp(snap, "yes") == 0;
    g_free(snap);
    g_key_file_free(kf);
    if (r < 0) {
        qns_guest_info_clear(out);
    }
    return r;
}

void qns_guest_info_clear(qns_guest_info *gi)
{
    g_free(gi->kernel);
    g_free(gi->initrd);
    g_free(gi->cmdline);
    g_free(gi->nic_e1000);
    g_free(gi->nic_virtio);
    g_free(gi->disk);
    g_strfreev(gi->machine);
    memset(gi, 0, sizeof(*gi));
}
