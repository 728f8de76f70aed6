/* main.c: `clquant COMMAND ...`: dispatches to the subcommand table. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

/* One entry per subcommand; a new one plugs in here. */
static const cq_command commands[] = {
    {"quantize", cq_cmd_quantize, "quantize a model's weights on the device, report the loss per tensor"},
    {"dequantize", cq_cmd_dequantize, "quantized weights (clquant safetensors, GGUF Q8_0/Q4_0) back to F32"},
    {"info", cq_cmd_info, "tensors, dtypes, schemes, sizes and metadata of a safetensors or GGUF file"},
    {"devices", cq_cmd_devices, "OpenCL platforms and devices, and what --device auto picks"},
    {NULL, NULL, NULL}
};

static void usage(FILE *f)
{
    fprintf(f, "usage: clquant COMMAND [ARGS]   (clquant COMMAND --help for its options)\n\n");
    for (const cq_command *c = commands; c->name; c++) fprintf(f, "  %-11s %s\n", c->name, c->summary);
    fprintf(f, "\nclquant %s; docs/CLI.md\n", clq_version_string());
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("clquant %s\n", clq_version_string());
        return 0;
    }
    for (const cq_command *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "clquant: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
