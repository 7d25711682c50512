/* cfgnode.c: owns turning YAML text into a tree of positioned nodes (cfgnode.h). Everything the
 * file says is bounded before it is kept; what the configuration means is config.c's business. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <yaml.h>
#include "cfgnode.h"
#include "hmap.h"

#define TAG_STR	"tag:yaml.org,2002:str"
#define TAG_SEQ	"tag:yaml.org,2002:seq"
#define TAG_MAP	"tag:yaml.org,2002:map"

struct parse {
	const char *file;
	const char *buf;
	size_t len;
	cfgnode_error_cb *cb;
	void *arg;
	struct cfgnode *stack[CFGNODE_MAX_DEPTH];
	int depth;
	size_t nnodes;
	struct cfgnode *root;
	int oom;		/* an allocation failed: parsing stops, CFGNODE_NOMEM */
};

/* The key path of the place being parsed: the open collections, then key (a key being added) or the
 * pending key / next index of the innermost one. */
static void
parse_path(const struct parse *ps, const char *key, char *out, size_t outsz)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < ps->depth; i++) {
		const struct cfgnode *f = ps->stack[i];
		int top = i == ps->depth - 1;
		int n;

		if (f->kind == CFGNODE_MAP) {
			const char *k = NULL;

			if (!top)
				k = f->n ? f->keys[f->n - 1]->str : NULL;
			else if (f->pending)
				k = f->pending->str;
			else
				k = key;
			if (k == NULL)
				continue;
			n = snprintf(out + len, outsz - len, "%s%.64s", len ? "." : "", k);
		} else
			n = snprintf(out + len, outsz - len, "[%zu]", top ? f->n : f->n - 1);
		if (n < 0 || (size_t)n >= outsz - len)
			return;
		len += (size_t)n;
	}
}

static void
parse_error(struct parse *ps, int line, int col, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
parse_error(struct parse *ps, int line, int col, const char *key, const char *fmt, ...)
{
	char path[512], msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	parse_path(ps, key, path, sizeof path);
	ps->cb(ps->arg, line, col, path, msg);
}

/* libyaml's reader reports a byte offset, not a mark: count lines ourselves. */
static void
offset_place(const struct parse *ps, size_t off, int *line, int *col)
{
	int l = 1, c = 1;

	for (size_t i = 0; i < off && i < ps->len; i++) {
		if (ps->buf[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)ps->buf[i] & 0xc0) != 0x80)
			c++;
	}
	*line = l;
	*col = c;
}

static void
syntax_error(struct parse *ps, const yaml_parser_t *p)
{
	int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		ps->oom = 1;
		return;
	case YAML_READER_ERROR:
		offset_place(ps, p->problem_offset, &line, &col);
		parse_error(ps, line, col, NULL, "invalid input: %s", p->problem ? p->problem : "unreadable");
		return;
	default:
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
		if (p->context)
			parse_error(ps, line, col, NULL, "YAML syntax error: %s (%s at %d:%d)",
			    p->problem ? p->problem : "unknown", p->context,
			    (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
		else
			parse_error(ps, line, col, NULL, "YAML syntax error: %s",
			    p->problem ? p->problem : "unknown");
		return;
	}
}

/* 0, or -1 when out of memory (nothing added; the parent keeps what it had). */
static int
node_push(struct cfgnode *parent, struct cfgnode *k, struct cfgnode *v)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct cfgnode **p;

		/* each array is the parent's again as soon as it has grown, so a failure of the
		 * second leaves nothing to lose */
		if ((p = reallocarray(parent->vals, cap, sizeof *p)) == NULL)
			return -1;
		parent->vals = p;
		if (parent->kind == CFGNODE_MAP) {
			if ((p = reallocarray(parent->keys, cap, sizeof *p)) == NULL)
				return -1;
			parent->keys = p;
		}
		parent->cap = cap;
	}
	if (parent->kind == CFGNODE_MAP)
		parent->keys[parent->n] = k;
	parent->vals[parent->n++] = v;
	return 0;
}

/* Hangs n into the tree. Returns -1 (n freed, error reported) when it cannot go there. */
#define CFGNODE_INDEX_AT 16	/* keys in a mapping before duplicates are looked up by index */

static int
node_attach(struct parse *ps, struct cfgnode *n)
{
	struct cfgnode *top;

	if (ps->depth == 0) {
		ps->root = n;
		return 0;
	}
	top = ps->stack[ps->depth - 1];
	if (top->kind == CFGNODE_SEQ || top->pending) {
		if (node_push(top, top->pending, n) < 0) {
			ps->oom = 1;
			cfgnode_free(n);
			return -1;
		}
		top->pending = NULL;
		return 0;
	}
	if (n->kind != CFGNODE_SCALAR) {
		parse_error(ps, n->line, n->col, NULL, "mapping keys must be strings");
		cfgnode_free(n);
		return -1;
	}
	/* Duplicate keys: a scan while the mapping is small, an index once it is not (a scan of
	 * every earlier key for each new one made a 20,000-key mapping take seconds; found by
	 * fuzz_config). Keys holding a NUL cannot be index keys: they are always scanned. */
	const struct cfgnode *first = NULL;
	int plain_key = strlen(n->str) == n->len;
	/* Out of memory for the index is no error: without it, the scan finds the same keys. */
	if (top->n >= CFGNODE_INDEX_AT && top->index == NULL) {
		top->index = hmap_new();
		for (size_t i = 0; top->index && i < top->n; i++)
			if (!top->keys[i]->dup && strlen(top->keys[i]->str) == top->keys[i]->len &&
			    hmap_get(top->index, top->keys[i]->str) == NULL &&
			    hmap_put(top->index, top->keys[i]->str, top->keys[i]) < 0) {
				hmap_free(top->index);
				top->index = NULL;
			}
	}
	if (top->index && plain_key)
		first = hmap_get(top->index, n->str);
	else
		for (size_t i = 0; i < top->n; i++) {
			const struct cfgnode *k = top->keys[i];
			if (!k->dup && k->len == n->len && memcmp(k->str, n->str, n->len) == 0) {
				first = k;
				break;
			}
		}
	if (first) {
		parse_error(ps, n->line, n->col, n->str, "duplicate key '%.64s' (first at %d:%d)",
		    n->str, first->line, first->col);
		n->dup = 1;
	} else if (top->index && plain_key && hmap_put(top->index, n->str, n) < 0) {
		hmap_free(top->index);
		top->index = NULL;
	}
	top->pending = n;
	return 0;
}

static struct cfgnode *
node_new(struct parse *ps, enum cfgnode_kind kind, const yaml_event_t *ev)
{
	struct cfgnode *n;

	if (++ps->nnodes > CFGNODE_MAX_NODES) {
		parse_error(ps, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1, NULL,
		    "too many YAML nodes (more than %d)", CFGNODE_MAX_NODES);
		return NULL;
	}
	if ((n = calloc(1, sizeof *n)) == NULL) {
		ps->oom = 1;
		return NULL;
	}
	n->kind = kind;
	n->file = ps->file;
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	return n;
}

static int
on_scalar(struct parse *ps, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t len = ev->data.scalar.length;
	struct cfgnode *n;

	if (len > CFGNODE_MAX_SCALAR) {
		parse_error(ps, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1, NULL,
		    "string longer than %d bytes", CFGNODE_MAX_SCALAR);
		return -1;
	}
	if ((n = node_new(ps, CFGNODE_SCALAR, ev)) == NULL)
		return -1;
	if ((n->str = malloc(len + 1)) == NULL) {
		ps->oom = 1;
		cfgnode_free(n);
		return -1;
	}
	n->str[len] = '\0';
	memcpy(n->str, ev->data.scalar.value, len);
	n->len = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (tag != NULL && strcmp(tag, TAG_STR) == 0)
		n->plain = 0;
	else if (tag != NULL && strcmp(tag, "!") != 0)
		parse_error(ps, n->line, n->col, NULL, "YAML tags are not supported");
	if (memchr(n->str, '\0', len) != NULL)
		parse_error(ps, n->line, n->col, NULL, "string contains a NUL byte");
	return node_attach(ps, n);
}

static int
on_start(struct parse *ps, const yaml_event_t *ev, enum cfgnode_kind kind)
{
	const char *tag = (const char *)(kind == CFGNODE_MAP ? ev->data.mapping_start.tag :
	    ev->data.sequence_start.tag);
	struct cfgnode *n;

	if (ps->depth >= CFGNODE_MAX_DEPTH) {
		parse_error(ps, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1, NULL,
		    "nested deeper than %d levels", CFGNODE_MAX_DEPTH);
		return -1;
	}
	if ((n = node_new(ps, kind, ev)) == NULL)
		return -1;
	if ((n->str = calloc(1, 1)) == NULL) {
		ps->oom = 1;
		cfgnode_free(n);
		return -1;
	}
	if (tag != NULL && strcmp(tag, "!") != 0 &&
	    strcmp(tag, kind == CFGNODE_MAP ? TAG_MAP : TAG_SEQ) != 0)
		parse_error(ps, n->line, n->col, NULL, "YAML tags are not supported");
	if (node_attach(ps, n) < 0)
		return -1;
	ps->stack[ps->depth++] = n;
	return 0;
}

int
cfgnode_parse(const char *file, const char *buf, size_t len, struct cfgnode **rootp,
    cfgnode_error_cb *cb, void *arg)
{
	struct parse ps;
	yaml_parser_t p;
	yaml_event_t ev;
	int ndocs = 0, done = 0, rc = -1;

	*rootp = NULL;
	memset(&ps, 0, sizeof ps);
	ps.file = file;
	ps.buf = buf;
	ps.len = len;
	ps.cb = cb;
	ps.arg = arg;
	if (!yaml_parser_initialize(&p))
		return CFGNODE_NOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);

	while (!done) {
		int bad = 0;

		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(&ps, &p);
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				parse_error(&ps, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				    NULL, "only one YAML document per file is supported");
				bad = 1;
			}
			break;
		case YAML_ALIAS_EVENT:
			parse_error(&ps, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1, NULL,
			    "YAML aliases are not supported");
			bad = 1;
			break;
		case YAML_SCALAR_EVENT:
			bad = on_scalar(&ps, &ev) < 0;
			break;
		case YAML_SEQUENCE_START_EVENT:
			bad = on_start(&ps, &ev, CFGNODE_SEQ) < 0;
			break;
		case YAML_MAPPING_START_EVENT:
			bad = on_start(&ps, &ev, CFGNODE_MAP) < 0;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (ps.depth > 0)
				ps.depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (bad)
			goto out;
	}
	rc = 0;
	*rootp = ps.root;
	ps.root = NULL;
out:
	cfgnode_free(ps.root);
	yaml_parser_delete(&p);
	return ps.oom ? CFGNODE_NOMEM : rc;
}

void
cfgnode_free(struct cfgnode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			cfgnode_free(n->keys[i]);
		cfgnode_free(n->vals[i]);
	}
	cfgnode_free(n->pending);
	hmap_free(n->index);
	free(n->keys);
	free(n->vals);
	free(n->str);
	free(n);
}

int
cfgnode_is_null(const struct cfgnode *n)
{
	if (n == NULL || n->kind != CFGNODE_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	    strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

int
cfgnode_bool(const struct cfgnode *n, int *out)
{
	if (n == NULL || n->kind != CFGNODE_SCALAR || !n->plain)
		return -1;
	if (strcmp(n->str, "true") == 0 || strcmp(n->str, "True") == 0 || strcmp(n->str, "TRUE") == 0) {
		*out = 1;
		return 0;
	}
	if (strcmp(n->str, "false") == 0 || strcmp(n->str, "False") == 0 ||
	    strcmp(n->str, "FALSE") == 0) {
		*out = 0;
		return 0;
	}
	return -1;
}

const struct cfgnode *
cfgnode_get(const struct cfgnode *map, const char *key)
{
	if (map == NULL || map->kind != CFGNODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (!map->keys[i]->dup && strcmp(map->keys[i]->str, key) == 0)
			return map->vals[i];
	return NULL;
}
