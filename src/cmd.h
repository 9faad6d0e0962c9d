/*
 * cmd.h: the subcommands.
 *
 * To add one: write cmd-<verb>.c exporting only
 * "int cmd_<verb>(int argc, char **argv)" (argv[0] is the verb; it reads
 * its options with parse_option() and returns the exit status), declare it
 * here, add a row to the table in main.c, and describe it in the man page.
 * The Makefile builds every .c file in src/; tests/cli.bats checks every
 * command of the table ("pyprime --help" lists it) against the man page.
 */
#ifndef CMD_H
#define CMD_H

int cmd_compile(int argc, char **argv);
int cmd_clean(int argc, char **argv);
int cmd_register(int argc, char **argv);
int cmd_rebuild(int argc, char **argv);
int cmd_strip(int argc, char **argv);
int cmd_traceback(int argc, char **argv);
int cmd_time(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_py3compile(int argc, char **argv);
int cmd_py3clean(int argc, char **argv);
int cmd_preload(int argc, char **argv);
int cmd_launch(int argc, char **argv);

#endif
