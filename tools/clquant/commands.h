/* commands.h: the tool's subcommands, one table entry each (main.c). Each returns the
 * process exit status: 0 success, 1 failure (message on stderr), 2 bad usage. */
#ifndef CQ_COMMANDS_H
#define CQ_COMMANDS_H

#include <clquant/clquant.h>

typedef struct cq_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
    const char *summary;               /* one line for `clquant --help` */
} cq_command;

int cq_cmd_quantize(int argc, char **argv);
int cq_cmd_dequantize(int argc, char **argv);
int cq_cmd_info(int argc, char **argv);
int cq_cmd_devices(int argc, char **argv);

/* --device SPEC (docs/CLI.md): NULL or "auto": one CLQ_BACKEND_AUTO context; "cpu": the
 * CPU path; "all": one context per OpenCL device of every platform; anything else: what
 * CLQ_DEVICE takes ("P:D", an index, a name substring), on OpenCL without fallback.
 * *out receives *count contexts (free with cq_devices_close). */
int cq_devices_open(const char *spec, clq_context ***out, size_t *count, char *err,
                    size_t err_size);
void cq_devices_close(clq_context **ctxs, size_t count);
/* cq_devices_open for command cmd, a failure said on stderr ("clquant CMD: why"). */
int cq_devices_open_or_say(const char *cmd, const char *spec, clq_context ***out, size_t *count);

#endif /* CQ_COMMANDS_H */
