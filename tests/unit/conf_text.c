/* conf_text.c - collectd.conf syntax from a string (see conf_text.h).
 *
 * One statement per line: a key and its values, "<Key values>" opening a
 * block, or "</Key>" closing it. A backslash before the newline joins
 * lines, as in collectd. Test code: it aborts on ENOMEM instead of
 * threading errors through. */
#include "conf_text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONF_MAX_DEPTH                                                         \
  16 /* nested blocks; the fuzzer must not blow the stack */

static void *conf_alloc_or_die(void *p) {
  if (p == NULL) {
    fprintf(stderr, "conf_text: out of memory\n");
    abort();
  }
  return p;
}

/* Room for one more of n elements of size elem: the array doubles, so a
 * block of many options costs linear time. */
static void *conf_grow(void *array, int n, size_t elem) {
  if (n > 0 && (n & (n - 1)) != 0)
    return array;
  size_t cap = n == 0 ? 4 : 2 * (size_t)n;
  return conf_alloc_or_die(realloc(array, cap * elem));
}

typedef struct conf_parser {
  const char *p;
  int line;
  int depth; /* of the block being read */
  const char *error;
} conf_parser_t;

static int parse_fail(conf_parser_t *ps, const char *error) {
  if (ps->error == NULL)
    ps->error = error;
  return -1;
}

/* Skips blanks, joined lines and a comment; stops at a newline or end. */
static void parse_skip_blank(conf_parser_t *ps) {
  for (;;) {
    if (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r') {
      ps->p++;
    } else if (ps->p[0] == '\\' && ps->p[1] == '\n') {
      ps->p += 2;
      ps->line++;
    } else if (*ps->p == '#') {
      while (*ps->p != '\0' && *ps->p != '\n')
        ps->p++;
    } else {
      return;
    }
  }
}

static bool parse_is_word_byte(char c) {
  return c != '\0' && !isspace((unsigned char)c) && c != '"' && c != '<' &&
         c != '>' && c != '#';
}

static char *parse_word(conf_parser_t *ps) {
  const char *start = ps->p;
  while (parse_is_word_byte(*ps->p))
    ps->p++;
  if (ps->p == start)
    return NULL;
  return conf_alloc_or_die(strndup(start, (size_t)(ps->p - start)));
}

/* The bytes of a quoted string from p (past its opening quote) to its end
 * at the closing quote, a newline or the end of text; an upper bound of
 * what it decodes to. */
static size_t parse_quoted_len(const char *p) {
  size_t n = 0;
  while (p[n] != '\0' && p[n] != '"' && p[n] != '\n')
    n += p[n] == '\\' && p[n + 1] != '\0' ? 2 : 1;
  return n;
}

/* A "quoted string"; a backslash makes the next byte literal. */
static char *parse_quoted(conf_parser_t *ps) {
  char *out = conf_alloc_or_die(malloc(parse_quoted_len(ps->p + 1) + 1));
  size_t len = 0;
  ps->p++; /* the opening quote */
  while (*ps->p != '"') {
    if (*ps->p == '\\' && ps->p[1] != '\0')
      ps->p++;
    if (*ps->p == '\0' || *ps->p == '\n') {
      free(out);
      parse_fail(ps, "unterminated quoted string");
      return NULL;
    }
    out[len++] = *ps->p++;
  }
  ps->p++;
  out[len] = '\0';
  return out;
}

/* An unquoted word as collectd reads it: boolean, number or string. */
static oconfig_value_t parse_classify(char *word) {
  static const char *const yes[] = {"true", "yes", "on"};
  static const char *const no[] = {"false", "no", "off"};
  for (size_t i = 0; i < 3; i++) {
    if (strcasecmp(word, yes[i]) == 0 || strcasecmp(word, no[i]) == 0) {
      int boolean = strcasecmp(word, yes[i]) == 0;
      free(word);
      return (oconfig_value_t){.type = OCONFIG_TYPE_BOOLEAN,
                               .value.boolean = boolean};
    }
  }
  char *end = NULL;
  double number = strtod(word, &end);
  if ((isdigit((unsigned char)word[0]) || strchr("+-.", word[0]) != NULL) &&
      *end == '\0' && end != word) {
    free(word);
    return (oconfig_value_t){.type = OCONFIG_TYPE_NUMBER,
                             .value.number = number};
  }
  return (oconfig_value_t){.type = OCONFIG_TYPE_STRING, .value.string = word};
}

/* Reads values up to the end of the line (or '>' inside a block head). */
static int parse_values(conf_parser_t *ps, oconfig_item_t *item,
                        bool in_block_head) {
  for (;;) {
    parse_skip_blank(ps);
    char c = *ps->p;
    if (c == '\0' || c == '\n' || (in_block_head && c == '>'))
      return 0;
    char *text = c == '"' ? parse_quoted(ps) : parse_word(ps);
    if (text == NULL)
      return parse_fail(ps, "unexpected character");
    item->values =
        conf_grow(item->values, item->values_num, sizeof(*item->values));
    item->values[item->values_num++] =
        c == '"' ? (oconfig_value_t){.type = OCONFIG_TYPE_STRING,
                                     .value.string = text}
                 : parse_classify(text);
  }
}

static void item_clear(oconfig_item_t *item) {
  free(item->key);
  for (int i = 0; i < item->values_num; i++)
    if (item->values[i].type == OCONFIG_TYPE_STRING)
      free(item->values[i].value.string);
  free(item->values);
  for (int i = 0; i < item->children_num; i++)
    item_clear(&item->children[i]);
  free(item->children);
}

static int parse_items(conf_parser_t *ps, oconfig_item_t *parent,
                       const char *closing);

/* The rest of the line after a statement must be blank. */
static int parse_end_of_line(conf_parser_t *ps) {
  parse_skip_blank(ps);
  if (*ps->p != '\0' && *ps->p != '\n')
    return parse_fail(ps, "unexpected text after the statement");
  return 0;
}

/* One "<Key values>" ... "</Key>" block into item (the '<' is read). */
static int parse_block(conf_parser_t *ps, oconfig_item_t *item) {
  if (ps->depth >= CONF_MAX_DEPTH)
    return parse_fail(ps, "blocks nested too deeply");
  parse_skip_blank(ps);
  item->key = parse_word(ps);
  if (item->key == NULL)
    return parse_fail(ps, "block without a key");
  if (parse_values(ps, item, true) != 0)
    return -1;
  if (*ps->p != '>')
    return parse_fail(ps, "block head without '>'");
  ps->p++;
  if (parse_end_of_line(ps) != 0)
    return -1;
  ps->depth++;
  int status = parse_items(ps, item, item->key);
  ps->depth--;
  return status;
}

/* "</Key>", which must close the block named closing. */
static int parse_block_end(conf_parser_t *ps, const char *closing) {
  ps->p += 2; /* "</" */
  char *key = parse_word(ps);
  bool matches =
      key != NULL && closing != NULL && strcasecmp(key, closing) == 0;
  free(key);
  if (!matches)
    return parse_fail(ps, "closing tag without a matching block");
  if (*ps->p != '>')
    return parse_fail(ps, "closing tag without '>'");
  ps->p++;
  return parse_end_of_line(ps);
}

static void parse_append(oconfig_item_t *parent, const oconfig_item_t *child) {
  parent->children =
      conf_grow(parent->children, parent->children_num, sizeof(*child));
  parent->children[parent->children_num++] = *child;
}

/* Statements until the end of text (closing NULL) or "</closing>". */
static int parse_items(conf_parser_t *ps, oconfig_item_t *parent,
                       const char *closing) {
  for (;;) {
    parse_skip_blank(ps);
    if (*ps->p == '\n') {
      ps->p++;
      ps->line++;
      continue;
    }
    if (*ps->p == '\0')
      return closing == NULL ? 0 : parse_fail(ps, "block not closed");
    if (ps->p[0] == '<' && ps->p[1] == '/')
      return parse_block_end(ps, closing);

    oconfig_item_t child = {0};
    int status;
    if (*ps->p == '<') {
      ps->p++;
      status = parse_block(ps, &child);
    } else {
      child.key = parse_word(ps);
      status = child.key == NULL ? parse_fail(ps, "expected a key")
                                 : parse_values(ps, &child, false);
    }
    if (status != 0) {
      item_clear(&child);
      return -1;
    }
    parse_append(parent, &child);
  }
}

/* The children moved while their arrays grew: set parents at the end. */
static void parse_set_parents(oconfig_item_t *item) {
  for (int i = 0; i < item->children_num; i++) {
    item->children[i].parent = item;
    parse_set_parents(&item->children[i]);
  }
}

oconfig_item_t *conf_text_parse(const char *text, char *error,
                                size_t error_size, int *line) {
  oconfig_item_t *root = conf_alloc_or_die(calloc(1, sizeof(*root)));
  conf_parser_t ps = {.p = text, .line = 1};
  if (parse_items(&ps, root, NULL) != 0) {
    if (error != NULL && error_size > 0)
      snprintf(error, error_size, "%s", ps.error);
    if (line != NULL)
      *line = ps.line;
    conf_text_free(root);
    return NULL;
  }
  parse_set_parents(root);
  return root;
}

void conf_text_free(oconfig_item_t *root) {
  if (root == NULL)
    return;
  item_clear(root);
  free(root);
}
