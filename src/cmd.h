/*
 * cmd.h: the subcommands.
 *
 * To add one: write cmd-<verb>.c exporting only
 * "int cmd_<verb>(int argc, char **argv)" (argv[0] is the verb; it parses
 * its own options and returns the exit status), declare it here, and add a
 * row to the table in main.c.
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

#endif
