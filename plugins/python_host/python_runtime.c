/* Finding, loading and starting the interpreter (python_runtime.h).
 *
 * How the interpreter is found, and why: the option `python` names an executable (default
 * `python3` on PATH), the one a user would run their backend module with; its virtualenv and
 * packages are the ones the module sees.  We run it once (fork/exec, no shell, so the value can
 * be any path) to ask sysconfig where its shared library is, dlopen that library RTLD_GLOBAL
 * (extension modules such as numpy's resolve the C API from the global scope, they do not link
 * libpython) and resolve the stable-ABI functions of py_api.h.  Nothing is linked at build time,
 * so one build of the plugin serves CPython 3.9 to 3.13.
 *
 * The interpreter is started lazily by the first create(): under `attnmatrix --isolate` that is
 * in the forked worker, never in a parent that forks afterwards.  It is never finalised: other
 * instances, other threads and objects the modules keep may still use it, and CPython cannot be
 * restarted in one process.  For the same reason libpython and this plugin itself are pinned in
 * memory (RTLD_NODELETE): a DLPack capsule that outlives the plugin's last instance still calls
 * its deleter here. */
#define _GNU_SOURCE
#include "python_runtime.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host_glue.h" /* host_glue_py[]: host_glue.py, embedded by CMake */

py_api py;

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static int runtime_ready;       /* py and the glue are usable */
static char runtime_python[1024]; /* the `python` option that made it ready ("" for a Python host) */
static char runtime_origin[1536];
static PyObject *glue_namespace; /* the glue module's globals, kept for the process's life */
/* Py_SetProgramName's argument, kept reachable for the process's life (CPython 3.8+ copies it, but
 * the docs still ask for static storage).  volatile: a write-only static would be optimised
 * away, and LeakSanitizer would then call the string a leak. */
static wchar_t *volatile program_name;

/* What the probe learns about an executable. */
typedef struct probe_answer {
    char executable[1024];
    char version[32];
    char libdir[1024];
    char ldlibrary[256];
    char instsoname[256];
    int gil_disabled;
} probe_answer;

/* The probe: one line per fact, each prefixed so that a sitecustomize that prints is ignored. */
static const char probe_source[] =
    "import sys, sysconfig\n"
    "v = sysconfig.get_config_var\n"
    "print('attn:executable=' + (sys.executable or ''))\n"
    "print('attn:version=%d.%d.%d' % sys.version_info[:3])\n"
    "print('attn:libdir=' + str(v('LIBDIR') or ''))\n"
    "print('attn:ldlibrary=' + str(v('LDLIBRARY') or ''))\n"
    "print('attn:instsoname=' + str(v('INSTSONAME') or ''))\n"
    "print('attn:gil_disabled=' + str(v('Py_GIL_DISABLED') or 0))\n";

#define PROBE_TIMEOUT_MS 60000 /* a cold pyenv shim or a network home directory can be slow */

static void copy_field(char *dst, size_t cap, const char *line, const char *key) {
    size_t n = strlen(key);
    if (strncmp(line, key, n) == 0) snprintf(dst, cap, "%s", line + n);
}

/* Runs `python -c probe_source` with execvp (PATH lookup for a bare name, no shell) and reads
 * its answer.  The value is passed as one argv element, so no character of it is interpreted. */
static attn_status probe(const char *python, probe_answer *ans, char *msg, uint32_t msg_cap) {
    memset(ans, 0, sizeof *ans);
    if (!python[0]) {
        snprintf(msg, msg_cap, "option python: empty");
        return ATTN_E_INVALID;
    }
    for (const char *c = python; *c; ++c)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            snprintf(msg, msg_cap, "option python: control character in the executable's name");
            return ATTN_E_INVALID;
        }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(msg, msg_cap, "cannot run %s: pipe: %s", python, strerror(errno));
        return ATTN_E_UNAVAILABLE;
    }
    /* No -I or -E: the probe runs in the environment the embedded interpreter will see
     * (PYTHONMALLOC=malloc under valgrind, say). */
    char *const argv[] = {(char *)python, "-c", (char *)probe_source, NULL};
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        snprintf(msg, msg_cap, "cannot run %s: fork: %s", python, strerror(errno));
        return ATTN_E_UNAVAILABLE;
    }
    if (pid == 0) { /* the child: only async-signal-safe calls until exec */
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        execvp(python, argv);
        static const char failed[] = "attn:exec-failed\n";
        ssize_t ignored = write(STDOUT_FILENO, failed, sizeof failed - 1);
        (void)ignored;
        _exit(127);
    }
    close(fds[1]);
    char out[8192];
    size_t used = 0;
    int timed_out = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= PROBE_TIMEOUT_MS) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int r = poll(&pfd, 1, (int)(PROBE_TIMEOUT_MS - elapsed));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        ssize_t got = read(fds[0], out + used, sizeof out - 1 - used);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        used += (size_t)got;
        if (used == sizeof out - 1) break;
    }
    out[used] = '\0';
    close(fds[0]);
    if (timed_out) kill(pid, SIGKILL);
    int wstatus = 0;
    pid_t waited;
    do
        waited = waitpid(pid, &wstatus, 0);
    while (waited < 0 && errno == EINTR);
    if (timed_out) {
        snprintf(msg, msg_cap, "%s did not answer within %d s", python, PROBE_TIMEOUT_MS / 1000);
        return ATTN_E_UNAVAILABLE;
    }
    if (strstr(out, "attn:exec-failed")) {
        snprintf(msg, msg_cap, "no Python interpreter '%s'%s (option python names the executable)", python,
                 strchr(python, '/') ? "" : " on PATH");
        return ATTN_E_UNAVAILABLE;
    }
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        copy_field(ans->executable, sizeof ans->executable, line, "attn:executable=");
        copy_field(ans->version, sizeof ans->version, line, "attn:version=");
        copy_field(ans->libdir, sizeof ans->libdir, line, "attn:libdir=");
        copy_field(ans->ldlibrary, sizeof ans->ldlibrary, line, "attn:ldlibrary=");
        copy_field(ans->instsoname, sizeof ans->instsoname, line, "attn:instsoname=");
        if (strncmp(line, "attn:gil_disabled=", 18) == 0) ans->gil_disabled = strcmp(line + 18, "0") != 0;
    }
    if (!ans->version[0]) {
        /* Not a Python 3, or it failed: show what it said (strtok cut it at the first line). */
        snprintf(msg, msg_cap, "%s is not a usable Python (exit status %d): %.300s", python,
                 waited > 0 && WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1, out);
        return ATTN_E_UNAVAILABLE;
    }
    int major = 0, minor = 0;
    sscanf(ans->version, "%d.%d", &major, &minor);
    if (major != 3 || minor < 9) {
        snprintf(msg, msg_cap, "%s is Python %s; python_host needs CPython 3.9 or later", python, ans->version);
        return ATTN_E_UNAVAILABLE;
    }
    if (ans->gil_disabled) {
        snprintf(msg, msg_cap, "%s is a free-threaded build (Python %st), whose ABI differs: use a regular build",
                 python, ans->version);
        return ATTN_E_UNAVAILABLE;
    }
    return ATTN_OK;
}

/* dlopens the interpreter's shared library: LIBDIR/INSTSONAME (the versioned file the runtime
 * package installs), LIBDIR/LDLIBRARY (the -dev symlink), then INSTSONAME through the loader's
 * own search.  RTLD_GLOBAL for extension modules, RTLD_NODELETE because it is never unloaded. */
static void *open_library(const probe_answer *ans, char *used, size_t used_cap, char *msg, uint32_t msg_cap) {
    char candidates[3][1400];
    int count = 0;
    if (ans->libdir[0] && ans->instsoname[0])
        snprintf(candidates[count++], sizeof candidates[0], "%s/%s", ans->libdir, ans->instsoname);
    if (ans->libdir[0] && ans->ldlibrary[0] && strstr(ans->ldlibrary, ".so"))
        snprintf(candidates[count++], sizeof candidates[0], "%s/%s", ans->libdir, ans->ldlibrary);
    if (ans->instsoname[0] && strstr(ans->instsoname, ".so"))
        snprintf(candidates[count++], sizeof candidates[0], "%s", ans->instsoname);
    char why[600] = "";
    for (int n = 0; n < count; ++n) {
        void *lib = dlopen(candidates[n], RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
        if (lib) {
            size_t len = strlen(candidates[n]);
            if (len >= used_cap) len = used_cap - 1;
            memcpy(used, candidates[n], len);
            used[len] = '\0';
            return lib;
        }
        if (!why[0]) snprintf(why, sizeof why, "%s", dlerror());
    }
    if (count == 0 || !strstr(ans->ldlibrary, ".so"))
        snprintf(msg, msg_cap,
                 "%s (Python %s) has no shared library (LDLIBRARY is '%s': built without --enable-shared?); "
                 "python_host loads libpython3.X.so",
                 ans->executable, ans->version, ans->ldlibrary);
    else
        snprintf(msg, msg_cap, "cannot load the shared library of %s (Python %s): %s", ans->executable, ans->version,
                 why);
    return NULL;
}

/* Fills `py` from `lib` (RTLD_DEFAULT when the host process is already Python). */
static attn_status resolve(void *lib, char *msg, uint32_t msg_cap) {
    py_api table;
    memset(&table, 0, sizeof table);
    void *sym;
#define PY_API_RESOLVE(ret, name, params)                                                                  \
    sym = dlsym(lib, #name);                                                                               \
    if (!sym) {                                                                                            \
        snprintf(msg, msg_cap, "the Python library lacks %s (CPython 3.9 to 3.13 have it)", #name);        \
        return ATTN_E_UNAVAILABLE;                                                                         \
    }                                                                                                      \
    memcpy(&table.name, &sym, sizeof sym);
    PY_API_FUNCTIONS(PY_API_RESOLVE)
#undef PY_API_RESOLVE
    table.none = dlsym(lib, "_Py_NoneStruct");
    table.exc_runtime = dlsym(lib, "PyExc_RuntimeError");
    if (!table.none || !table.exc_runtime) {
        snprintf(msg, msg_cap, "the Python library lacks _Py_NoneStruct or PyExc_RuntimeError");
        return ATTN_E_UNAVAILABLE;
    }
    py = table;
    return ATTN_OK;
}

/* Keeps this plugin loaded for the life of the process (see the file comment). */
static void pin_self(void) {
    Dl_info info;
    if (dladdr((void *)&py_runtime_acquire, &info) && info.dli_fname)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

int py_string_copy(PyObject *str, char *buf, uint32_t cap) {
    buf[0] = '\0';
    PyObject *bytes = py.PyUnicode_AsUTF8String(str);
    if (!bytes) {
        py.PyErr_Clear();
        return -1;
    }
    const char *text = py.PyBytes_AsString(bytes);
    if (text) snprintf(buf, cap, "%s", text);
    else py.PyErr_Clear();
    py.Py_DecRef(bytes);
    return text ? 0 : -1;
}

void py_error_message(const char *what, char *msg, uint32_t msg_cap) {
    PyObject *type = NULL, *value = NULL, *tb = NULL;
    py.PyErr_Fetch(&type, &value, &tb);
    if (!type) {
        snprintf(msg, msg_cap, "%s: failed without a Python exception", what);
        return;
    }
    py.PyErr_NormalizeException(&type, &value, &tb);
    char text[ATTN_MSG_CAP * 2] = "";
    /* The glue formats it (type, message, the traceback's last file:line); str() if that fails. */
    PyObject *format = glue_namespace ? py.PyDict_GetItemString(glue_namespace, "format_exception") : NULL;
    PyObject *formatted = format ? py.PyObject_CallFunctionObjArgs(format, value ? value : py.none, tb ? tb : py.none,
                                                                   NULL)
                                 : NULL;
    if (formatted) {
        py_string_copy(formatted, text, sizeof text);
        py.Py_DecRef(formatted);
    } else {
        py.PyErr_Clear();
        PyObject *str = value ? py.PyObject_Str(value) : NULL;
        if (str) {
            py_string_copy(str, text, sizeof text);
            py.Py_DecRef(str);
        } else {
            py.PyErr_Clear();
        }
    }
    snprintf(msg, msg_cap, "%s: %s", what, text[0] ? text : "(an exception that cannot be printed)");
    if (type) py.Py_DecRef(type);
    if (value) py.Py_DecRef(value);
    if (tb) py.Py_DecRef(tb);
}

/* Runs host_glue.py into a fresh namespace (builtins.exec: no non-stable API needed). */
static attn_status load_glue(char *msg, uint32_t msg_cap) {
    attn_status st = ATTN_E_UNAVAILABLE;
    PyObject *builtins = py.PyImport_ImportModule("builtins");
    PyObject *exec = builtins ? py.PyObject_GetAttrString(builtins, "exec") : NULL;
    PyObject *ns = py.PyDict_New();
    PyObject *name = py.PyUnicode_FromString("attn_python_host");
    PyObject *source = py.PyUnicode_FromString(host_glue_py);
    if (exec && ns && name && source && py.PyDict_SetItemString(ns, "__builtins__", builtins) == 0 &&
        py.PyDict_SetItemString(ns, "__name__", name) == 0) {
        PyObject *done = py.PyObject_CallFunctionObjArgs(exec, source, ns, NULL);
        if (done) {
            py.Py_DecRef(done);
            glue_namespace = ns;
            ns = NULL;
            st = ATTN_OK;
        }
    }
    if (st != ATTN_OK) py_error_message("python_host's glue (host_glue.py) failed to load", msg, msg_cap);
    if (builtins) py.Py_DecRef(builtins);
    if (exec) py.Py_DecRef(exec);
    if (ns) py.Py_DecRef(ns);
    if (name) py.Py_DecRef(name);
    if (source) py.Py_DecRef(source);
    return st;
}

PyObject *py_runtime_glue(const char *name) { return py.PyDict_GetItemString(glue_namespace, name); }

const char *py_runtime_origin(void) { return runtime_origin; }

/* The process already runs Python (the host is a Python program using libattn): use it. */
static int host_is_python(void) {
    int (*is_initialized)(void);
    void *sym = dlsym(RTLD_DEFAULT, "Py_IsInitialized");
    if (!sym) return 0;
    memcpy(&is_initialized, &sym, sizeof sym);
    return is_initialized();
}

static attn_status acquire_locked(const char *python, char *msg, uint32_t msg_cap) {
    if (runtime_ready) {
        if (runtime_python[0] && strcmp(runtime_python, python) != 0) {
            snprintf(msg, msg_cap, "this process already runs %s; one process holds one Python (python: %s)",
                     runtime_origin, python);
            return ATTN_E_UNAVAILABLE;
        }
        return ATTN_OK;
    }
    attn_status st;
    if (host_is_python()) {
        st = resolve(RTLD_DEFAULT, msg, msg_cap);
        if (st != ATTN_OK) return st;
        snprintf(runtime_origin, sizeof runtime_origin, "the host's CPython %.20s (option python ignored)",
                 py.Py_GetVersion());
        PyGILState_STATE gil = py.PyGILState_Ensure();
        st = load_glue(msg, msg_cap);
        py.PyGILState_Release(gil);
        if (st != ATTN_OK) return st;
        pin_self();
        runtime_python[0] = '\0';
        runtime_ready = 1;
        return ATTN_OK;
    }
    probe_answer ans;
    st = probe(python, &ans, msg, msg_cap);
    if (st != ATTN_OK) return st;
    char library[1400];
    void *lib = open_library(&ans, library, sizeof library, msg, msg_cap);
    if (!lib) return ATTN_E_UNAVAILABLE;
    st = resolve(lib, msg, msg_cap);
    if (st != ATTN_OK) return st;
    const char *version = py.Py_GetVersion();
    if (strncmp(version, ans.version, strlen(ans.version)) != 0) {
        snprintf(msg, msg_cap, "%s is Python %s but its library %s is %.20s", ans.executable, ans.version, library,
                 version);
        return ATTN_E_UNAVAILABLE;
    }
    if (!py.Py_IsInitialized()) {
        /* The program name makes the interpreter compute sys.prefix as that executable would:
         * a virtualenv's python finds its pyvenv.cfg and site-packages.  Never freed: CPython
         * keeps the pointer until finalisation, which never comes. */
        program_name = py.Py_DecodeLocale(ans.executable[0] ? ans.executable : python, NULL);
        if (program_name) py.Py_SetProgramName(program_name);
        py.Py_InitializeEx(0); /* 0: leave the host's signal handlers alone */
        if (!py.Py_IsInitialized()) {
            snprintf(msg, msg_cap, "the interpreter of %s did not start", ans.executable);
            return ATTN_E_UNAVAILABLE;
        }
        st = load_glue(msg, msg_cap);
        py.PyEval_SaveThread(); /* release the GIL: every call takes it with PyGILState_Ensure */
    } else { /* an earlier copy of this plugin started it */
        PyGILState_STATE gil = py.PyGILState_Ensure();
        st = load_glue(msg, msg_cap);
        py.PyGILState_Release(gil);
    }
    if (st != ATTN_OK) return st;
    pin_self();
    snprintf(runtime_python, sizeof runtime_python, "%s", python);
    const char *base = strrchr(library, '/');
    snprintf(runtime_origin, sizeof runtime_origin, "CPython %s (%.600s, %.300s)", ans.version, ans.executable,
             base ? base + 1 : library);
    runtime_ready = 1;
    return ATTN_OK;
}

attn_status py_runtime_acquire(const char *python, char *msg, uint32_t msg_cap) {
    pthread_mutex_lock(&runtime_lock);
    attn_status st = acquire_locked(python, msg, msg_cap);
    pthread_mutex_unlock(&runtime_lock);
    return st;
}
