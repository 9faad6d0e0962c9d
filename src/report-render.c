/*
 * report-render.c: the figures of "pyprime report" as text or Markdown
 * tables, JSON, CSV and a bar chart, with the preloaded variant's memory.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imptime.h"
#include "output.h"
#include "report.h"
#include "svg.h"
#include "util.h"

static const char *const medium_labels[] = { "disk", "RAM" };

static const struct report_cell *find(const struct report *r, enum variant v,
			       int state, int medium)
{
	size_t k;

	for (k = 0; k < r->ncells; k++)
		if (r->cell[k].v == v && r->cell[k].state == state &&
		    r->cell[k].medium == medium)
			return &r->cell[k];
	return NULL;
}

static double median_of(const struct report_cell *c)
{
	return c && c->done && c->s.n ? c->wall.median : NAN;
}

/* The source variant's median over this one's, in the same column. */
static double speedup(const struct report *r, const struct report_cell *c)
{
	const struct report_cell *base = find(r, V_SOURCE, c->state, c->medium);

	return median_of(base) / median_of(c);
}

static void format_size(char *out, size_t size, double bytes)
{
	if (bytes >= 1 << 20)
		snprintf(out, size, "%.1f MB", bytes / (1 << 20));
	else if (bytes < 1024)
		snprintf(out, size, "%.0f B", bytes);
	else
		snprintf(out, size, "%.0f kB", bytes / 1024);
}

static void print_environment(FILE *f, const struct report *r, int md)
{
	const struct envinfo *e = &r->env;
	const char *b = md ? "- " : "  ";

	fprintf(f, "%skernel: %s\n", b, e->kernel);
	fprintf(f, "%sCPU: %s, %ld online, governor %s\n", b, e->cpu, e->cpus,
		e->governor);
	fprintf(f, "%sscratch: %s on %s (%s, rotational: %s)\n", b, r->scratch,
		e->device, e->fs, e->rotational);
	if (r->have_rd)
		fprintf(f, "%sRAM disk: %s (%s); tmpfs pages can't be evicted,"
			" so a cold RAM run purges only the rest\n", b,
			r->rd.dir, r->rd.kind);
	fprintf(f, "%sPython: %s\n", b, e->python);
	if ((r->o->variants >> V_PYC_O2) & 1 && !e->stdlib_opt2)
		fprintf(f, "%snote: pyc-O2 runs under -OO, and this Python's"
			" stdlib has no -OO pycs: the stdlib modules it imports"
			" are compiled on every run\n", b);
	fprintf(f, "%spyprime: %s\n", b, PYPRIME_VERSION);
}

/* The columns: (state, medium) pairs measured, disk first. */
static size_t columns(const struct report_opts *o, int *state, int *medium)
{
	size_t n = 0;
	int m, st;

	for (m = 0; m < 2; m++)
		for (st = 0; st < 2; st++)
			if (((o->media >> m) & 1) && ((o->states >> st) & 1)) {
				state[n] = st;
				medium[n++] = m;
			}
	return n;
}

/* The head of a table with a column per (STATE, MEDIUM), and SIZES. */
static void table_head(FILE *f, int md, const int *state, const int *medium,
		       size_t nc, int sizes)
{
	const char *sep = md ? " | " : "  ";
	char label[32];
	size_t j;

	fprintf(f, md ? "| %-10s" : "  %-10s", "variant");
	for (j = 0; j < nc; j++) {
		snprintf(label, sizeof(label), "%s %s", medium_labels[medium[j]],
			 report_states[state[j]]);
		fprintf(f, "%s%10s", sep, label);
	}
	if (sizes)
		fprintf(f, "%s%9s%s%8s", sep, "size", sep, "files");
	fputs(md ? " |\n" : "\n", f);
	if (md) {
		fputs("|:-----------", f);
		for (j = 0; j < nc + (sizes ? 2 : 0); j++)
			fputs("|-----------:", f);
		fputs("|\n", f);
	}
}

static void print_tables(FILE *f, const struct report *r, int md)
{
	const struct report_opts *o = r->o;
	int state[4], medium[4], v;
	size_t nc = columns(o, state, medium), j;
	char size[32];
	const char *sep = md ? " | " : "  ";

	fprintf(f, md ? "## Start-up time, median of %lu runs (ms)\n\n" :
		"start-up time, median of %lu runs (ms)\n\n", o->t.runs);
	table_head(f, md, state, medium, nc, 1);
	for (v = 0; v < NVARIANTS; v++) {
		if (!((o->variants >> v) & 1))
			continue;
		fprintf(f, md ? "| %-10s" : "  %-10s", report_variants[v]);
		for (j = 0; j < nc; j++) {
			const struct report_cell *c = find(r, v, state[j],
							   medium[j]);
			int flag = c && c->done && series_not_cold(&c->s);

			fputs(sep, f);
			print_ms(f, flag ? 9 : 10, median_of(c));
			if (flag)
				fputc('*', f);
		}
		format_size(size, sizeof(size), r->usage[v].bytes);
		fprintf(f, "%s%9s%s%8llu%s\n", sep, size, sep,
			(unsigned long long)r->usage[v].files, md ? " |" : "");
	}

	fprintf(f, md ? "\n## Speed-up against source\n\n" :
		"\nspeed-up against source (its median over the variant's)\n\n");
	table_head(f, md, state, medium, nc, 0);
	for (v = 0; v < NVARIANTS; v++) {
		if (!((o->variants >> v) & 1))
			continue;
		fprintf(f, md ? "| %-10s" : "  %-10s", report_variants[v]);
		for (j = 0; j < nc; j++) {
			const struct report_cell *c = find(r, v, state[j],
							   medium[j]);
			double x = c ? speedup(r, c) : NAN;

			if (isnan(x))
				fprintf(f, "%s%10s", sep, "-");
			else
				fprintf(f, "%s%9.2fx", sep, x);
		}
		fputs(md ? " |\n" : "\n", f);
	}
}

static void print_statistics(FILE *f, const struct report *r, int md)
{
	size_t k, bad = 0;

	fprintf(f, md ? "\n## Statistics (wall time, ms)\n\n"
		"| variant | state | medium | runs | median | min | max | mean |"
		" sd | MAD | outliers | resident |\n"
		"|:--|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n" :
		"\nstatistics (wall time, ms)\n\n"
		"  %-10s %-5s %-6s %4s %8s %8s %8s %8s %7s %7s %4s %9s\n",
		"variant", "state", "medium", "runs", "median", "min", "max",
		"mean", "sd", "MAD", "out", "resident");
	for (k = 0; k < r->ncells; k++) {
		const struct report_cell *c = &r->cell[k];
		const struct stats *s = &c->wall;
		char res[32] = "-";

		if (!c->done) {
			fprintf(f, md ? "| %s | %s | %s | failed |||||||||\n" :
				"  %-10s %-5s %-6s failed\n",
				report_variants[c->v], report_states[c->state],
				report_media[c->medium]);
			continue;
		}
		if (c->state && c->s.tree_in_ram)
			snprintf(res, sizeof(res), "tmpfs");
		else if (c->state)
			snprintf(res, sizeof(res), "%.1f%%%s",
				 100 * series_max_resident(&c->s, 0),
				 series_not_cold(&c->s) ? "*" : "");
		bad += series_not_cold(&c->s);
		fprintf(f, md ? "| %s | %s | %s | %zu |" : "  %-10s %-5s %-6s %4zu",
			report_variants[c->v], report_states[c->state],
			report_media[c->medium], s->n);
		print_ms(f, md ? 0 : 9, s->median);
		fputs(md ? " |" : "", f);
		print_ms(f, md ? 0 : 9, s->min);
		fputs(md ? " |" : "", f);
		print_ms(f, md ? 0 : 9, s->max);
		fputs(md ? " |" : "", f);
		print_ms(f, md ? 0 : 9, s->mean);
		fputs(md ? " |" : "", f);
		print_ms(f, md ? 0 : 8, s->sd);
		fputs(md ? " |" : "", f);
		print_ms(f, md ? 0 : 8, s->mad);
		fprintf(f, md ? " | %zu | %s |\n" : " %4zu %9s\n", s->outliers,
			res);
	}
	fprintf(f, "\n%sresident: the largest part of the tree still in memory"
		" after a purge\n", md ? "" : "  ");
	if (bad)
		fprintf(f, "%s* NOT COLD: %zu cold runs found more than 1%% of"
			" the tree in memory\n", md ? "" : "  ", bad);
}

/* The median USS of the children of C's counted runs (kB), NAN if none
 * was read. */
static double child_uss(const struct report_cell *c)
{
	double *v;
	struct stats st;
	size_t i, n = 0;

	if (!c->uss || !c->done)
		return NAN;
	v = xcalloc(c->s.n + 1, sizeof(*v));
	for (i = 0; i < c->s.n; i++)
		if (!isnan(c->uss[i]))
			v[n++] = c->uss[i];
	stats_compute(v, n, &st);
	free(v);
	return n ? st.median : NAN;
}

/* The idle server of C's medium, if its memory was read. */
static const struct report_server *idle_server(const struct report *r,
					       const struct report_cell *c)
{
	const struct report_server *sv = &r->server[c->medium];

	return c->v == V_PRELOADED && sv->have_idle ? sv : NULL;
}

/* A figure in kB, or "-". */
static void print_kb(FILE *f, const char *sep, int width, double kb)
{
	if (isnan(kb))
		fprintf(f, "%s%*s", sep, width, "-");
	else
		fprintf(f, "%s%*.0f", sep, width, kb);
}

static void print_memory(FILE *f, const struct report *r, int md)
{
	const char *sep = md ? " | " : "  ";
	size_t k;

	if (!((r->o->variants >> V_PRELOADED) & 1))
		return;
	fputs(md ? "\n## Memory of the preloaded variant (kB)\n\n"
	      "| medium | state | server RSS | server PSS | child USS |\n"
	      "|:--|:--|--:|--:|--:|\n" :
	      "\nmemory of the preloaded variant (kB)\n\n"
	      "  medium  state  server RSS  server PSS   child USS\n", f);
	for (k = 0; k < r->ncells; k++) {
		const struct report_cell *c = &r->cell[k];
		const struct report_server *sv = idle_server(r, c);

		if (c->v != V_PRELOADED)
			continue;
		fprintf(f, md ? "| %s | %s" : "  %-6s  %-5s",
			report_media[c->medium], report_states[c->state]);
		print_kb(f, sep, md ? 0 : 10, sv ? (double)sv->idle.rss : NAN);
		print_kb(f, sep, md ? 0 : 10, sv ? (double)sv->idle.pss : NAN);
		print_kb(f, sep, md ? 0 : 10, child_uss(c));
		fputs(md ? " |\n" : "\n", f);
	}
	fprintf(f, "\n%sserver: the preloader's RSS and PSS, idle after the"
		" warm-up; child USS: its private memory as it ends, median of"
		" the runs\n", md ? "" : "  ");
}

/* The memory figures as JSON members of cell C, if it is preloaded. */
static void json_memory(FILE *f, const struct report *r,
			const struct report_cell *c)
{
	const struct report_server *sv = idle_server(r, c);
	double uss = child_uss(c);

	if (c->v != V_PRELOADED)
		return;
	if (sv)
		fprintf(f, ", \"server_rss_kb\": %lu, \"server_pss_kb\": %lu",
			sv->idle.rss, sv->idle.pss);
	else
		fputs(", \"server_rss_kb\": null, \"server_pss_kb\": null", f);
	if (isnan(uss))
		fputs(", \"child_uss_kb\": null", f);
	else
		fprintf(f, ", \"child_uss_kb\": %.6g", uss);
}

/* The memory figures as an SVG note line in OUT, or "" if none. */
static void svg_memory(char *out, size_t size, const struct report *r)
{
	struct buf b = BUF_INIT;
	const char *sep = "";
	size_t k;
	int m;

	*out = '\0';
	if (!((r->o->variants >> V_PRELOADED) & 1))
		return;
	buf_adds(&b, "preloaded, server idle RSS/PSS (kB):");
	for (m = 0; m < 2; m++) {
		if (!r->server[m].have_idle)
			continue;
		buf_addf(&b, "%s %s %lu/%lu", sep, medium_labels[m],
			 r->server[m].idle.rss, r->server[m].idle.pss);
		sep = ",";
	}
	buf_adds(&b, "; child USS, median (kB):");
	for (k = 0, sep = ""; k < r->ncells; k++) {
		const struct report_cell *c = &r->cell[k];
		double uss = child_uss(c);

		if (c->v != V_PRELOADED || isnan(uss))
			continue;
		buf_addf(&b, "%s %s %s %.0f", sep, medium_labels[c->medium],
			 report_states[c->state], uss);
		sep = ",";
	}
	snprintf(out, size, "%s", b.data);
	buf_release(&b);
}

static void print_imports(FILE *f, const struct report *r, int md)
{
	const struct report_opts *o = r->o;
	struct imptime_row *rows[NVARIANTS] = { NULL };
	size_t n[NVARIANTS] = { 0 }, i, j;
	int v, first = -1;

	for (v = 0; v < NVARIANTS; v++)
		if (r->imports[v].imptime && !r->imports[v].failed) {
			rows[v] = imptime_rows(r->imports[v].imptime, &n[v]);
			if (first < 0)
				first = v;
		}
	if (first < 0)
		return;
	fprintf(f, md ? "\n## Slowest imports (cumulative ms, median of %lu"
		" warm runs, -X importtime)\n\n| %s" :
		"\nslowest imports (cumulative ms, median of %lu warm runs,"
		" -X importtime)\n\n  %-32s", o->t.runs, "module");
	for (v = 0; v < NVARIANTS; v++)
		if (rows[v])
			fprintf(f, md ? " | %s" : " %10s", report_variants[v]);
	fputs(md ? " |\n|:--" : "\n", f);
	for (v = 0; md && v < NVARIANTS; v++)
		if (rows[v])
			fputs("|--:", f);
	fputs(md ? "|\n" : "", f);
	for (i = 0; i < n[first] && i < o->t.top; i++) {
		const char *name = rows[first][i].module;

		fprintf(f, md ? "| %s" : "  %-32s", name);
		for (v = 0; v < NVARIANTS; v++) {
			double x = NAN;

			if (!rows[v])
				continue;
			for (j = 0; j < n[v]; j++)
				if (!strcmp(rows[v][j].module, name))
					x = rows[v][j].cumulative_us / 1000;
			fputs(md ? " | " : " ", f);
			print_ms(f, md ? 0 : 10, x);
		}
		fputs(md ? " |\n" : "\n", f);
	}
	for (v = 0; v < NVARIANTS; v++)
		free(rows[v]);
}

static void print_report(FILE *f, const struct report *r, int md)
{
	fprintf(f, md ? "# pyprime report: `" : "pyprime report: ");
	program_print(f, &r->o->t.prog);
	fprintf(f, md ? "`\n\n" : "\n");
	fprintf(f, md ? "- tree: `%s`\n- %lu runs per cell after %lu warm-up,"
		" interleaved; cold: --purge %s\n" :
		"  tree: %s\n  %lu runs per cell after %lu warm-up, interleaved;"
		" cold: --purge %s\n", r->o->t.tree, r->o->t.runs, r->o->t.warmup,
		purge_names[r->o->t.purge]);
	print_environment(f, r, md);
	fputc('\n', f);
	print_tables(f, r, md);
	print_statistics(f, r, md);
	print_memory(f, r, md);
	print_imports(f, r, md);
}

static const char *const measure_keys[] = { "wall_ms", "user_ms", "sys_ms",
					    "maxrss_kb" };

static void json_env(FILE *f, const struct report *r)
{
	const struct envinfo *e = &r->env;

	fputs("  \"environment\": {\"kernel\": ", f);
	json_string(f, e->kernel);
	fputs(", \"cpu\": ", f);
	json_string(f, e->cpu);
	fprintf(f, ", \"cpus\": %ld, \"governor\": ", e->cpus);
	json_string(f, e->governor);
	fputs(", \"scratch\": ", f);
	json_string(f, r->scratch);
	fputs(", \"filesystem\": ", f);
	json_string(f, e->fs);
	fputs(", \"device\": ", f);
	json_string(f, e->device);
	fputs(", \"rotational\": ", f);
	json_string(f, e->rotational);
	fputs(", \"ramdisk\": ", f);
	if (r->have_rd)
		json_string(f, r->rd.kind);
	else
		fputs("null", f);
	fputs(", \"python\": ", f);
	json_string(f, e->python);
	fprintf(f, ", \"stdlib_opt2_pycs\": %s", e->stdlib_opt2 ? "true" :
		"false");
	fputs(", \"pyprime\": ", f);
	json_string(f, PYPRIME_VERSION);
	fputs("},\n", f);
}

static void write_json(FILE *f, const struct report *r)
{
	const struct report_opts *o = r->o;
	size_t k, i, m;
	int v, any = 0;

	fputs("{\n  \"command\": [", f);
	for (k = 0; r->cell && k < r->ncells; k++)
		if (r->cell[k].s.argv) {
			for (i = 0; r->cell[k].s.argv[i]; i++) {
				fputs(i ? ", " : "", f);
				json_string(f, r->cell[k].s.argv[i]);
			}
			break;
		}
	fputs("],\n  \"tree\": ", f);
	json_string(f, o->t.tree);
	fprintf(f, ",\n  \"runs\": %lu,\n  \"warmup\": %lu,\n  \"purge\": "
		"\"%s\",\n", o->t.runs, o->t.warmup, purge_names[o->t.purge]);
	json_env(f, r);
	fputs("  \"variants\": [", f);
	for (v = 0; v < NVARIANTS; v++) {
		if (!((o->variants >> v) & 1))
			continue;
		fprintf(f, "%s\n    {\"name\": \"%s\", \"files\": %llu,"
			" \"bytes\": %llu, \"disk_bytes\": %llu}", any ? "," : "",
			report_variants[v],
			(unsigned long long)r->usage[v].files,
			(unsigned long long)r->usage[v].bytes,
			(unsigned long long)r->usage[v].disk);
		any = 1;
	}
	fputs("\n  ],\n  \"cells\": [", f);
	for (k = 0; k < r->ncells; k++) {
		const struct report_cell *c = &r->cell[k];
		double x = speedup(r, c);

		fprintf(f, "%s\n    {\"variant\": \"%s\", \"state\": \"%s\","
			" \"medium\": \"%s\", \"failed\": ", k ? "," : "",
			report_variants[c->v], report_states[c->state],
			report_media[c->medium]);
		if (c->done)
			fputs("null", f);
		else
			json_string(f, c->s.failed ? c->s.failure.data :
				    "not run");
		fprintf(f, ", \"runs\": %zu, \"not_cold\": %zu",
			c->s.n, series_not_cold(&c->s));
		if (c->state)
			fprintf(f, ", \"resident_max\": %.4f",
				series_max_resident(&c->s, 0));
		fputs(", \"speedup\": ", f);
		if (isfinite(x))
			fprintf(f, "%.6g", x);
		else
			fputs("null", f);
		json_memory(f, r, c);
		for (m = 0; m < ARRAY_SIZE(measure_keys); m++) {
			double *val = series_values(&c->s, m);
			struct stats st;

			stats_compute(val, c->s.n, &st);
			fprintf(f, ",\n     \"%s\": ", measure_keys[m]);
			json_stats(f, &st);
			free(val);
		}
		fputs(",\n     \"samples_ms\": [", f);
		for (i = 0; i < c->s.n; i++)
			fprintf(f, "%s%.4f", i ? ", " : "",
				c->s.sample[i].wall_ms);
		fputs("],\n     \"outliers_ms\": [", f);
		for (i = 0, any = 0; i < c->s.n; i++)
			if (stats_outlier(&c->wall, c->s.sample[i].wall_ms))
				fprintf(f, "%s%.4f", any++ ? ", " : "",
					c->s.sample[i].wall_ms);
		fputs("]}", f);
	}
	fputs("\n  ],\n  \"imports\": {", f);
	any = 0;
	for (v = 0; v < NVARIANTS; v++) {
		struct imptime_row *rows;
		size_t n;

		if (!r->imports[v].imptime || r->imports[v].failed)
			continue;
		rows = imptime_rows(r->imports[v].imptime, &n);
		fprintf(f, "%s\n    \"%s\": [", any ? "," : "",
			report_variants[v]);
		for (i = 0; i < n; i++) {
			fputs(i ? ",\n      {\"module\": " :
			      "\n      {\"module\": ", f);
			json_string(f, rows[i].module);
			fprintf(f, ", \"runs\": %zu, \"self_us\": %.1f,"
				" \"cumulative_us\": %.1f}", rows[i].runs,
				rows[i].self_us, rows[i].cumulative_us);
		}
		fputs("]", f);
		free(rows);
		any = 1;
	}
	fputs(any ? "\n  }\n}\n" : "}\n}\n", f);
}

static void write_csv(FILE *f, const struct report *r)
{
	size_t k;

	fputs("variant,state,medium,runs,median_ms,min_ms,max_ms,mean_ms,"
	      "sd_ms,mad_ms,outliers,not_cold,speedup,user_ms,sys_ms,"
	      "maxrss_kb,disk_bytes,server_rss_kb,server_pss_kb,"
	      "child_uss_kb\n", f);
	for (k = 0; k < r->ncells; k++) {
		const struct report_cell *c = &r->cell[k];
		const struct report_server *sv;
		struct stats st[ARRAY_SIZE(measure_keys)];
		double x = speedup(r, c), uss;
		size_t m;

		if (!c->done)
			continue;
		for (m = 0; m < ARRAY_SIZE(measure_keys); m++) {
			double *val = series_values(&c->s, m);

			stats_compute(val, c->s.n, &st[m]);
			free(val);
		}
		fprintf(f, "%s,%s,%s,%zu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%zu,%zu,",
			report_variants[c->v], report_states[c->state],
			report_media[c->medium], st[0].n, st[0].median,
			st[0].min, st[0].max, st[0].mean, st[0].sd, st[0].mad,
			st[0].outliers, series_not_cold(&c->s));
		if (isfinite(x))
			fprintf(f, "%.6g", x);
		fprintf(f, ",%.6g,%.6g,%.6g,%llu,", st[1].median, st[2].median,
			st[3].median, (unsigned long long)r->usage[c->v].disk);
		if ((sv = idle_server(r, c)))
			fprintf(f, "%lu,%lu", sv->idle.rss, sv->idle.pss);
		else
			fputc(',', f);
		uss = child_uss(c);
		if (isnan(uss))
			fputs(",\n", f);
		else
			fprintf(f, ",%.6g\n", uss);
	}
}

static int write_svg(FILE *f, const struct report *r)
{
	const struct report_opts *o = r->o;
	const char *groups[NVARIANTS], *series[4];
	char labels[4][32], sub[256], note[512];
	double value[NVARIANTS * 4], lo[NVARIANTS * 4], hi[NVARIANTS * 4];
	int state[4], medium[4], v;
	size_t nc = columns(o, state, medium), ng = 0, j;
	struct chart c = { 0 };

	for (j = 0; j < nc; j++) {
		snprintf(labels[j], sizeof(labels[j]), "%s %s",
			 medium_labels[medium[j]], report_states[state[j]]);
		series[j] = labels[j];
	}
	for (v = 0; v < NVARIANTS; v++) {
		if (!((o->variants >> v) & 1))
			continue;
		for (j = 0; j < nc; j++) {
			const struct report_cell *cl = find(r, v, state[j],
							    medium[j]);
			int ok = cl && cl->done && cl->s.n;

			value[ng * nc + j] = ok ? cl->wall.median : NAN;
			lo[ng * nc + j] = ok ? cl->wall.min : NAN;
			hi[ng * nc + j] = ok ? cl->wall.max : NAN;
		}
		groups[ng++] = report_variants[v];
	}
	snprintf(sub, sizeof(sub), "median of %lu runs, whiskers min to max;"
		 " Python %.*s; %ld CPUs; %s", o->t.runs,
		 (int)strcspn(r->env.python, " "), r->env.python, r->env.cpus,
		 r->env.cpu);
	c.title = "Start-up time by variant";
	c.subtitle = sub;
	c.unit = "ms";
	c.axis = "start-up time";
	c.ngroups = ng;
	c.groups = groups;
	c.nseries = nc;
	c.series = series;
	c.value = value;
	c.lo = lo;
	c.hi = hi;
	svg_memory(note, sizeof(note), r);
	c.note = *note ? note : NULL;
	return svg_write(f, &c);
}

int report_write(const struct report *r)
{
	const struct report_opts *o = r->o;
	int ret = 0, close;
	FILE *f;

	if (!(o->t.json && !strcmp(o->t.json, "-")))
		print_report(stdout, r, o->markdown);
	if (o->t.json && (f = output_open(o->t.json, &close))) {
		write_json(f, r);
		ret |= output_close(f, o->t.json, close);
	} else if (o->t.json) {
		ret = -1;
	}
	if (o->csv && (f = output_open(o->csv, &close))) {
		write_csv(f, r);
		ret |= output_close(f, o->csv, close);
	} else if (o->csv) {
		ret = -1;
	}
	if (o->svg && (f = output_open(o->svg, &close))) {
		if (write_svg(f, r) < 0)
			ret = -1;
		ret |= output_close(f, o->svg, close);
	} else if (o->svg) {
		ret = -1;
	}
	return ret;
}
