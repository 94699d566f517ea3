/* A look at a plugin file before dlopen maps it.
 *
 * dlopen reads the ELF header with read() and refuses a bad one cleanly, but it maps the
 * segments with mmap: a file cut short (a copy interrupted, a disk filled) maps fine and then
 * kills the process with SIGBUS when the loader touches a page past the end of the file.  The
 * header, the program header table and every PT_LOAD segment's bytes must therefore be inside
 * the file before dlopen sees it.  The same look names the other mismatches (another machine,
 * another word size, not a shared object) that dlopen reports vaguely or not at all.
 *
 * The file may still change between this check and dlopen: the check turns accidents into
 * messages, it is no defence against a file replaced on purpose. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "internal/files.h"

/* The ELF flavour of the process doing the loading. */
#if UINTPTR_MAX > 0xffffffffu
typedef Elf64_Ehdr host_ehdr;
typedef Elf64_Phdr host_phdr;
#define HOST_CLASS ELFCLASS64
#else
typedef Elf32_Ehdr host_ehdr;
typedef Elf32_Phdr host_phdr;
#define HOST_CLASS ELFCLASS32
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

/* EM_NONE where this file does not know the architecture: the machine is then left to dlopen. */
#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__arm__)
#define HOST_MACHINE EM_ARM
#elif defined(__powerpc64__)
#define HOST_MACHINE EM_PPC64
#elif defined(__riscv)
#define HOST_MACHINE EM_RISCV
#elif defined(__s390x__)
#define HOST_MACHINE EM_S390
#else
#define HOST_MACHINE EM_NONE
#endif

static const char *machine_name(unsigned machine) {
    switch (machine) {
    case EM_X86_64: return "x86-64";
    case EM_386: return "i386";
    case EM_AARCH64: return "aarch64";
    case EM_ARM: return "arm";
    case EM_PPC64: return "ppc64";
    case EM_RISCV: return "riscv";
    case EM_S390: return "s390";
    default: return "another machine";
    }
}

static const char *class_name(unsigned elf_class) {
    return elf_class == ELFCLASS32 ? "32-bit" : elf_class == ELFCLASS64 ? "64-bit" : "unknown";
}

static const char *byte_order_name(unsigned encoding) {
    return encoding == ELFDATA2LSB ? "little-endian" : encoding == ELFDATA2MSB ? "big-endian" : "unknown";
}

/* Every refusal names the file the way a failed dlopen does (loader.c). */
__attribute__((format(printf, 3, 4))) static attn_status refuse(attn_error *err, const char *path, const char *format,
                                                                ...) {
    char reason[ATTN_ERROR_CAP];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    return attn_error_set(err, ATTN_E_LOAD, "cannot load plugin %s: %s", path, reason);
}

/* Reads exactly `bytes` at `offset`; 0 with errno set when the file ends first. */
static int read_at(int fd, void *out, size_t bytes, uint64_t offset) {
    for (size_t done = 0; done < bytes;) {
        ssize_t got = pread(fd, (char *)out + done, bytes - done, (off_t)(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got == 0) errno = EIO;
        if (got <= 0) return 0;
        done += (size_t)got;
    }
    return 1;
}

/* The identification bytes and the fields that say whether this process can load the file. */
static attn_status check_header(const char *path, const host_ehdr *header, uint64_t file_size, attn_error *err) {
    const unsigned char *ident = header->e_ident;
    if (memcmp(ident, ELFMAG, SELFMAG) != 0)
        return refuse(err, path, "not an ELF file (it does not start with the bytes 7f 45 4c 46)");
    if (file_size < sizeof *header)
        return refuse(err, path, "truncated shared object: the ELF header ends at byte %zu, the file has %llu bytes",
                      sizeof *header, (unsigned long long)file_size);
    if (ident[EI_CLASS] != HOST_CLASS)
        return refuse(err, path, "ELF class %u (%s), this host loads class %u (%s)", ident[EI_CLASS],
                      class_name(ident[EI_CLASS]), HOST_CLASS, class_name(HOST_CLASS));
    if (ident[EI_DATA] != HOST_DATA)
        return refuse(err, path, "ELF data encoding %u (%s), this host loads %u (%s)", ident[EI_DATA],
                      byte_order_name(ident[EI_DATA]), HOST_DATA, byte_order_name(HOST_DATA));
    if (HOST_MACHINE != EM_NONE && header->e_machine != HOST_MACHINE)
        return refuse(err, path, "built for %s (e_machine %u), this host is %s (%u)", machine_name(header->e_machine),
                      header->e_machine, machine_name(HOST_MACHINE), HOST_MACHINE);
    if (header->e_type != ET_DYN)
        return refuse(err, path, "ELF type %u is not a shared object (ET_DYN, %u): build it with -shared",
                      header->e_type, ET_DYN);
    if (header->e_phentsize != sizeof(host_phdr))
        return refuse(err, path, "program header entries of %u bytes, expected %zu", header->e_phentsize,
                      sizeof(host_phdr));
    uint64_t table_end = (uint64_t)header->e_phoff + (uint64_t)header->e_phnum * sizeof(host_phdr);
    if (header->e_phoff > file_size || table_end > file_size)
        return refuse(err, path, "truncated shared object: the program header table ends at byte %llu, the file has "
                                 "%llu bytes",
                      (unsigned long long)table_end, (unsigned long long)file_size);
    return ATTN_OK;
}

/* Every byte a PT_LOAD segment maps from the file must be in the file: mmap maps a page past
 * its end without complaint, and the first touch of it is a SIGBUS. */
static attn_status check_segments(const char *path, int fd, const host_ehdr *header, uint64_t file_size,
                                  attn_error *err) {
    for (unsigned n = 0; n < header->e_phnum; ++n) {
        host_phdr segment;
        if (!read_at(fd, &segment, sizeof segment, header->e_phoff + (uint64_t)n * sizeof segment))
            return refuse(err, path, "cannot read program header %u: %s", n, strerror(errno));
        if (segment.p_type != PT_LOAD) continue;
        if (segment.p_offset > file_size || segment.p_filesz > file_size - segment.p_offset)
            return refuse(err, path, "truncated shared object: segment %u ends at byte %llu, the file has %llu bytes",
                          n, (unsigned long long)segment.p_offset + (unsigned long long)segment.p_filesz,
                          (unsigned long long)file_size);
    }
    return ATTN_OK;
}

static attn_status check_open_file(const char *path, int fd, attn_error *err) {
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) return refuse(err, path, "not a regular file");
    uint64_t file_size = (uint64_t)info.st_size;
    host_ehdr header;
    memset(&header, 0, sizeof header); /* a file shorter than the header reads as zeros past its end */
    if (!read_at(fd, &header, file_size < sizeof header ? (size_t)file_size : sizeof header, 0))
        return refuse(err, path, "cannot read its ELF header: %s", strerror(errno));
    attn_status st = check_header(path, &header, file_size, err);
    return st == ATTN_OK ? check_segments(path, fd, &header, file_size, err) : st;
}

/* A path that cannot be examined is left to dlopen, which explains it in its own words ("No such
 * file or directory"), and a bare name to dlopen's own search, which does not look in the working
 * directory. */
attn_status attn_elf_check_plugin(const char *path, attn_error *err) {
    if (!strchr(path, '/')) return ATTN_OK;
    struct stat info;
    if (stat(path, &info) != 0) return ATTN_OK;
    /* Before open(): opening a FIFO for reading would wait for a writer. */
    if (!S_ISREG(info.st_mode)) return refuse(err, path, "%s, not a shared object file", attn_file_kind(info.st_mode));
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return ATTN_OK;
    attn_status st = check_open_file(path, fd, err);
    close(fd);
    return st;
}
