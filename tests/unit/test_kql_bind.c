/*
 * Unit tests for kql_bind and kql_plan: Kusto's typing of operators and
 * functions, Kusto's names for result columns, let (scalars, tables,
 * functions), the plan tree of each operator with its typed columns, time
 * bounds and other bounds the statistics decide pushed into scans,
 * ingestion_time() and where it is refused, semantic errors with positions, and the
 * documentation's own examples (kql_doc_examples.inc): each parses, binds
 * and gives the documented output's column names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_bind.h"
#include "query/kql_exec.h"
#include "query/kql_split.h"

static const struct kql_schema_column events[] = {
    {"Timestamp", PROTO_T_DATETIME}, {"Level", PROTO_T_STRING}, {"Host", PROTO_T_STRING},
    {"Latency", PROTO_T_REAL},       {"Code", PROTO_T_LONG},    {"Props", PROTO_T_DYNAMIC},
    {"Small", PROTO_T_INT},          {"Id", PROTO_T_GUID},      {"Took", PROTO_T_TIMESPAN},
};
static const struct kql_schema_column hosts[] = {{"Host", PROTO_T_STRING},
                                                 {"Region", PROTO_T_STRING}};
static const struct kql_schema_table logs[] = {{"Events", events, 9}, {"Hosts", hosts, 2}};
static const struct kql_schema_table other[] = {{"Machines", hosts, 2}};
static const struct kql_schema_db dbs[] = {{"Logs", logs, 2}, {"Other", other, 1}};
static const struct kql_schema schema = {dbs, 2, "Logs"};

/* For wildcard names: tables out of name order, one in lower case, Code
 * typed two ways; and Many, 600 tables T000 .. T599 (filled by main). */
static const struct kql_schema_column code_long[] = {{"Code", PROTO_T_LONG}};
static const struct kql_schema_column code_string[] = {{"Code", PROTO_T_STRING}};
static const struct kql_schema_table wtables[] = {
    {"Evs", code_long, 1}, {"ev3", code_string, 1}, {"Events", events, 9},
    {"Ab", hosts, 2},      {"Ev2", hosts, 2},
};
static const struct kql_schema_db wdbs[] = {{"W", wtables, 5}, {"Other", other, 1}};
static const struct kql_schema wild = {wdbs, 2, "W"};
#define NMANY 600
static char many_names[NMANY][8];
static struct kql_schema_table many_tables[NMANY];
static const struct kql_schema_db many_db[] = {{"Many", many_tables, NMANY}};
static const struct kql_schema many = {many_db, 1, "Many"};

/* The schema the helpers bind against. */
static const struct kql_schema *use = &schema;

/* Binds q; its last result's plan, or NULL with *err filled.  The arena
 * is freed by the caller. */
static const struct kql_plan *bind(struct kql_arena *a, const char *q, struct kql_error *err)
{
	struct kql_query *kq = NULL;

	if (kql_compile(a, q, strlen(q), use, &kq, err) != 0)
		return NULL;
	return kq->results[kq->nresults - 1];
}

static char *names_of(const struct kql_plan *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (size_t i = 0; i < p->ncols; i++)
		fprintf(f, "%s%s", i > 0 ? "," : "", p->cols[i].name);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void expect_names(const char *q, const char *want)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	const struct kql_plan *p = bind(a, q, &e);
	char *got;

	if (p == NULL)
		fail_msg("%s: %s", q, e.message);
	got = names_of(p);
	if (strcmp(got, want) != 0)
		fail_msg("%s\n got %s\nwant %s", q, got, want);
	free(got);
	kql_arena_free(a);
}

static void expect_type(const char *expr, enum proto_coltype want)
{
	char q[512];
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	const struct kql_plan *p;

	(void)snprintf(q, sizeof(q), "Events | take 1 | project x = %s", expr);
	if ((p = bind(a, q, &e)) == NULL)
		fail_msg("%s: %s", expr, e.message);
	if (p->cols[0].type != want)
		fail_msg("%s: %s, want %s", expr, proto_coltype_name(p->cols[0].type),
		         proto_coltype_name(want));
	kql_arena_free(a);
}

static void expect_plan(const char *q, const char *want)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	const struct kql_plan *p = bind(a, q, &e);
	char *got;

	if (p == NULL)
		fail_msg("%s: %s", q, e.message);
	got = kql_plan_text(p);
	if (strcmp(got, want) != 0)
		fail_msg("%s\n got:\n%s\nwant:\n%s", q, got, want);
	free(got);
	kql_arena_free(a);
}

static void expect_error(const char *q, const char *code, uint32_t line, uint32_t col,
                         const char *says)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};

	if (bind(a, q, &e) != NULL)
		fail_msg("%s: bound", q);
	if (strcmp(e.code, code) != 0 || e.pos.line != line || e.pos.col != col ||
	    strstr(e.message, says) == NULL)
		fail_msg("%s: got %s %u:%u %s", q, e.code, e.pos.line, e.pos.col, e.message);
	kql_arena_free(a);
}

static void test_arithmetic_types(void **state)
{
	expect_type("Code / 2", PROTO_T_LONG);
	expect_type("Code / 2.0", PROTO_T_REAL);
	expect_type("Small + 1", PROTO_T_LONG);
	/* int with int is long (the numerical operators' page; ADX's gettype,
	 * Kusto-Query-Language issue #68), -x of an int column too (issue
	 * #167), -int(5) a folded int constant */
	expect_type("Small + Small", PROTO_T_LONG);
	expect_type("Small * Small", PROTO_T_LONG);
	expect_type("Small / Small", PROTO_T_LONG);
	expect_type("Small % Small", PROTO_T_LONG);
	expect_type("-Small", PROTO_T_LONG);
	expect_type("-int(5)", PROTO_T_INT);
	expect_type("Code % 3", PROTO_T_LONG);
	expect_type("Latency * Code", PROTO_T_REAL);
	expect_type("Timestamp - Timestamp", PROTO_T_TIMESPAN);
	expect_type("Timestamp - 1h", PROTO_T_DATETIME);
	expect_type("Timestamp + 1d", PROTO_T_DATETIME);
	expect_type("1d + Timestamp", PROTO_T_DATETIME);
	expect_type("Took * 2", PROTO_T_TIMESPAN);
	expect_type("Took / 2", PROTO_T_TIMESPAN);
	expect_type("Took / 1h", PROTO_T_REAL);
	expect_type("-Took", PROTO_T_TIMESPAN);
	expect_type("now() - ago(1d)", PROTO_T_TIMESPAN);
	expect_type("Props.a", PROTO_T_DYNAMIC);
	expect_type("Props.a + 1", PROTO_T_DYNAMIC);
	expect_type("Code > 1 and Level has 'x'", PROTO_T_BOOL);
	expect_type("Code in (1, 2)", PROTO_T_BOOL);
	expect_type("Timestamp between (ago(1d) .. now())", PROTO_T_BOOL);
	expect_type("Timestamp between (datetime(2020-01-01) .. 1d)", PROTO_T_BOOL);
}

static void test_function_types(void **state)
{
	expect_type("iff(Code > 1, 'a', 'b')", PROTO_T_STRING);
	expect_type("case(Code > 1, 1.5, 2.5)", PROTO_T_REAL);
	expect_type("coalesce(Code, 0)", PROTO_T_LONG);
	expect_type("strlen(Level)", PROTO_T_LONG);
	expect_type("toint('1')", PROTO_T_INT);
	expect_type("todouble(Code)", PROTO_T_REAL);
	expect_type("toreal(Code)", PROTO_T_REAL);
	expect_type("todatetime('2020-01-01')", PROTO_T_DATETIME);
	expect_type("parse_json('{}')", PROTO_T_DYNAMIC);
	expect_type("split(Level, ',')", PROTO_T_DYNAMIC);
	expect_type("bin(Timestamp, 1h)", PROTO_T_DATETIME);
	expect_type("floor(Latency, 10.0)", PROTO_T_REAL);
	expect_type("bin(Code, 10)", PROTO_T_LONG);
	expect_type("startofday(Timestamp)", PROTO_T_DATETIME);
	expect_type("dayofweek(Timestamp)", PROTO_T_TIMESPAN);
	expect_type("datetime_diff('day', Timestamp, now())", PROTO_T_LONG);
	expect_type("round(Latency, 2)", PROTO_T_REAL);
	expect_type("round(toint(Code), -1)", PROTO_T_INT); /* Kusto.Language: Parameter0 */
	expect_type("round(Code)", PROTO_T_LONG);
	expect_type("abs(Code)", PROTO_T_LONG);
	expect_type("abs(toint(Code))", PROTO_T_LONG);
	expect_type("bin(Code, 2.5)", PROTO_T_REAL);
	expect_type("bin(toint(Code), toint(2))", PROTO_T_LONG);
	expect_type("pow(2, 10)", PROTO_T_REAL);
	expect_type("max_of(Code, 3)", PROTO_T_LONG);
	expect_type("iff(Code > 1, 1, 2.5)", PROTO_T_REAL);
	expect_type("iff(Code > 1, toint(1), Code)", PROTO_T_LONG);
	expect_type("case(Code > 1, 1, Code > 2, 2, 3.5)", PROTO_T_REAL);
	expect_type("case(Code > 1, Level, 'x')", PROTO_T_STRING);
	expect_type("coalesce(toint(Code), Code)", PROTO_T_LONG);
	expect_type("max_of(Code, 2.5)", PROTO_T_REAL);
	/* beside a dynamic value, dynamic (measured on Kusto:
	 * coalesce(dynamic([1]), 5) is [1]) */
	expect_type("iff(Code > 1, Props.a, 2)", PROTO_T_DYNAMIC);
	expect_type("coalesce(Props.a, 0)", PROTO_T_DYNAMIC);
	expect_type("isempty(Level)", PROTO_T_BOOL);
	expect_type("long(null)", PROTO_T_LONG);
	expect_type("guid(74be27de-1e4e-49d9-b579-fe0b331d3642)", PROTO_T_GUID);
	expect_type("dynamic([1, 2])", PROTO_T_DYNAMIC);
}

static void test_aggregate_names(void **state)
{
	expect_names("Events | summarize count(), countif(Code > 1), sum(Code), avg(Latency), "
	             "min(Timestamp), max(Latency), dcount(Host), make_set(Level), "
	             "make_list(Host), take_any(Level), any(Code)",
	             "count_,countif_,sum_Code,avg_Latency,min_Timestamp,max_Latency,dcount_Host,"
	             "set_Level,list_Host,Level,any_Code");
	expect_names("Events | summarize count() by bin(Timestamp, 1h), Level",
	             "Timestamp,Level,count_");
	/* an aggregate of an operator's result has no suffix (measured on
	 * Kusto: sum(x + 1) is sum_); a function over an aggregate takes the
	 * aggregate's name through first arguments (round(sum(y), 2) is sum_y),
	 * an operator over one does not */
	expect_names("Events | summarize n = count(), avg(Latency * 2) by H = Host, tolower(Level)",
	             "H,Column1,n,avg_");
	expect_names("Events | summarize round(sum(Latency), 2), round(avg(Latency), 1), "
	             "tostring(count()), round(percentile(Code, 50), 1), sum(Code) + 1, "
	             "round(sum(Latency), 3)",
	             "sum_Latency,avg_Latency,count_,percentile_Code_50,Column1,sum_Latency1");
	expect_names("Events | summarize count(), count()", "count_,count_1");
	expect_names("Events | summarize percentiles(Latency, 50, 99.9)",
	             "percentile_Latency_50,percentile_Latency_99_9");
	expect_names("Events | summarize percentile(Latency, 95), p = percentile(Code, 50)",
	             "percentile_Latency_95,p");
	expect_names("Events | summarize arg_max(Timestamp, *) by Host",
	             "Host,Timestamp,Level,Latency,Code,Props,Small,Id,Took");
	expect_names("Events | summarize arg_min(Latency, Host, Code)", "Latency,Host,Code");
	expect_names("Events | summarize by Level", "Level");
	expect_names("Events | count", "Count");
	expect_names("Events | summarize e = countif(Level == 'Error') * 100.0 / count(), "
	             "round(avg(Latency), 2), count() by Host",
	             "Host,e,avg_Latency,count_");
}

static void test_operator_names(void **state)
{
	expect_names("Events | project Level, L2 = Level, Code + 1, Props.a, Props['b']",
	             "Level,L2,Column1,Props_a,Props_b");
	/* Conversions, bin/floor, round, abs … keep their first argument's name;
	 * strlen(x) is strlen_x; other calls are ColumnN (Kusto.Language's
	 * ResultNameKind of each function). */
	expect_names("Events | project tostring(Props.a), toint(Code), strlen(Level), "
	             "round(Latency, 1), tolower(Level), startofday(Timestamp), "
	             "startofweek(Timestamp)",
	             "Props_a,Code,strlen_Level,Latency,Column1,Timestamp,Column2");
	expect_names("Events | summarize count() by tostring(Props.u), abs(Code)",
	             "Props_u,Code,count_");
	expect_names("Events | project Code, tolong(Code), abs(Code)", "Code,Code1,Code2");
	expect_names("Events | project tolong(Code), Code", "Code,Code1");
	expect_names("Hosts | extend x = 1, Host = toupper(Host) | extend y = x + 1",
	             "Host,Region,x,y");
	/* an extend's items read its input, not each other (measured on Kusto) */
	expect_error("Hosts | extend x = 1, y = x + 1", KQL_E_NAME, 1, 27,
	             "Failed to resolve scalar expression named 'x'");
	expect_names("Hosts | project-away Region", "Host");
	/* a let's name alone names its column, but for a summarize key
	 * (measured on Kusto) */
	expect_names("let v = 5; Hosts | project Host, v, w = v", "Host,v,w");
	expect_names("let v = 5; Hosts | summarize by v, Host", "Column1,Host");
	/* pow's result is Column1 (measured on Kusto), where Kusto.Language
	 * lists it as named by its first argument */
	expect_names("datatable(C:long)[2] | distinct pow(C, 2)", "Column1");
	expect_names("Hosts | project-rename Name = Host", "Name,Region");
	expect_names("Hosts | join (Hosts) on Host", "Host,Region,Host1,Region1");
	expect_names("Hosts | join kind=leftsemi (Hosts) on Host", "Host,Region");
	expect_names("Hosts | join kind=rightanti (Events) on Host",
	             "Timestamp,Level,Host,Latency,Code,Props,Small,Id,Took");
	expect_names("Events | lookup Hosts on Host",
	             "Timestamp,Level,Host,Latency,Code,Props,Small,Id,Took,Region");
	expect_names("Hosts | union withsource=T (Hosts | extend z = 1)", "T,Host,Region,z");
	expect_names("union kind=inner Hosts, (Hosts | extend z = 1)", "Host,Region");
	expect_names("print a = 1 | union (print a = 'x')", "a_long,a_string");
	expect_names("print 1, x = 2, 3", "print_0,x,print_2");
	expect_names("range i from 1 to 3 step 1", "i");
	expect_names("Events | distinct Level, Host", "Level,Host");
	expect_names("Events | mv-expand with_itemindex=i Props", "Timestamp,Level,Host,Latency,"
	                                                          "Code,Props,Small,Id,Took,i");
	expect_names("Events | mv-expand x = Props.a, Props", "Timestamp,Level,Host,Latency,"
	                                                      "Code,Props,Small,Id,Took,x");
	expect_names("database('Other').Machines | take 1", "Host,Region");
}

/* Names of the math functions beyond the subset's: Kusto.Language's first
 * argument, but exp10's Column1 (measured), and none for sign, degrees,
 * radians and cot; their arguments numbers. */
static void test_math_names(void **state)
{
	expect_names("Events | project sin(Latency), atan2(Latency, 1), exp10(Latency), "
	             "sign(Code), degrees(Latency), log2(Code)",
	             "Latency,Latency1,Column1,Column2,Column3,Code");
	expect_names("Events | project tohex(Code), string_size(Level), reverse(Level), "
	             "make_datetime(Code, 1, 1), hash_md5(Host)",
	             "Code,string_size_Level,Column1,Column2,Column3");
	expect_names("Events | getschema", "ColumnName,ColumnOrdinal,DataType,ColumnType");
	expect_error("print bag_pack('a', 1, 'b')", KQL_E_ARGS, 1, 7, "key, value pairs");
	expect_error("print bag_pack(1, 1)", KQL_E_TYPE, 1, 16, "argument 1 must be a string");
	expect_error("print array_concat(1)", KQL_E_TYPE, 1, 20, "must be a dynamic value");
	expect_error("print range('a', 2)", KQL_E_TYPE, 1, 7, "range(): expects numbers");
	expect_error("print range(datetime(2020-01-01), 2)", KQL_E_TYPE, 1, 7, "range()");
	expect_error("print sin('x')", KQL_E_TYPE, 1, 11, "sin(): argument 1 must be a number");
}

static void test_lets(void **state)
{
	expect_names("let n = 2; let T = Hosts | take n; T | extend m = n * 2", "Host,Region,m");
	expect_names("let f = (t:(*), k:long = 3) { t | take k }; f(Hosts)", "Host,Region");
	expect_names("let g = (x:long) { x * 2 }; Events | project d = g(Code)", "d");
	expect_names("let h = () { let c = 1; Hosts | extend c = c + 1 }; h()", "Host,Region,c");
	expect_names("let T = datatable(a:long)[1, 2]; T | join (T) on a", "a,a1");
	expect_error("let f = (x:long) { f(x) }; print f(1)", KQL_E_FUNCTION, 1, 20, "'f'");
	expect_error("let T = 1; T | count", KQL_E_TYPE, 1, 12, "'T' is not a tabular");
	/* a name declared twice is refused, as Kusto refuses it (SEM0079) */
	expect_error("let v = 1; let v = 2; print x = v", KQL_E_NAME, 1, 12, "already declared");
	expect_error("let f = (x:long) { x }; print f(1, 2)", KQL_E_ARGS, 1, 31, "expects 1");
	expect_error("let f = (x:long) { x }; print f()", KQL_E_ARGS, 1, 31, "'x'");
	/* named arguments (the user-defined functions page): after the
	 * positional ones, each naming a parameter once; a function named
	 * without arguments is called */
	expect_names("let f = (t:(*), k:long = 3) { t | take k }; f(k = 1, t = Hosts)",
	             "Host,Region");
	expect_names("let g = () { 2 }; Events | project d = Code * g", "d");
	expect_names("let h = () { Hosts }; union h, (h())", "Host,Region");
	expect_error("let f = (x:long, y:long = 1) { x }; print f(y = 1, 2)", KQL_E_ARGS, 1, 52,
	             "a positional argument after a named one");
	expect_error("let f = (x:long, y:long = 1) { x }; print f(1, x = 2)", KQL_E_ARGS, 1, 48,
	             "'x' given twice");
	expect_error("let f = (x:long) { x }; print f(z = 1)", KQL_E_ARGS, 1, 33,
	             "no parameter named 'z'");
	expect_error("let f = (x:long, y:long = 1) { x }; print f(y = 2)", KQL_E_ARGS, 1, 43,
	             "no value for parameter 'x'");
	expect_error("print strlen(s = 'a')", KQL_E_ARGS, 1, 14, "a named argument ('s = ...')");
}

static void test_plans(void **state)
{
	expect_plan(
	    "Events | where Timestamp > ago(1h) and Level == 'Error' | summarize count() "
	    "by bin(Timestamp, 5m) | top 3 by count_",
	    "top limit=3 by=[count_ desc nulls last] -> (Timestamp:datetime, count_:long)\n"
	    "  aggregate keys=[bin(Timestamp, timespan(00:05:00))] aggs=[count()] -> "
	    "(Timestamp:datetime, count_:long)\n"
	    "    filter =[((Timestamp > ago(timespan(01:00:00))) and (Level == \"Error\"))] "
	    "-> (Timestamp:datetime, Level:string, Host:string, Latency:real, Code:long, "
	    "Props:dynamic, Small:int, Id:guid, Took:timespan)\n"
	    "      scan Logs.Events reads=[Timestamp, Level] [Timestamp > ago(timespan(01:00:00))] "
	    "-> "
	    "(Timestamp:datetime, Level:string, Host:string, Latency:real, Code:long, "
	    "Props:dynamic, Small:int, Id:guid, Took:timespan)\n");
	expect_plan("Hosts | join kind=leftouter (Hosts | where Region != 'eu') on "
	            "$left.Host == $right.Region | sort by Host asc, Region nulls first",
	            "sort by=[Host asc nulls first, Region desc nulls first] -> (Host:string, "
	            "Region:string, Host1:string, Region1:string)\n"
	            "  join kind=leftouter on=[$left.Host == $right.Region] -> (Host:string, "
	            "Region:string, Host1:string, Region1:string)\n"
	            "    scan Logs.Hosts reads=[Host, Region] -> (Host:string, Region:string)\n"
	            "    filter =[(Region != \"eu\")] -> (Host:string, Region:string)\n"
	            "      scan Logs.Hosts reads=[Host, Region] -> (Host:string, Region:string)\n");
	expect_plan("datatable(a:long, b:real)[1, 2, -3, int(null)] | distinct *",
	            "distinct -> (a:long, b:real)\n  values rows=2 -> (a:long, b:real)\n");
	expect_plan(
	    "range t from datetime(2020-01-01) to datetime(2020-01-02) step 6h | take 2",
	    "take limit=2 -> (t:datetime)\n"
	    "  range from,to,step=[datetime(2020-01-01T00:00:00.0000000Z), "
	    "datetime(2020-01-02T00:00:00.0000000Z), timespan(06:00:00)] -> (t:datetime)\n");
}

/* A scan reads the columns the operators above it use, and no other. */
static void expect_reads(const char *q, const char *want)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	const struct kql_plan *p = bind(a, q, &e);
	char got[256] = "";

	if (p == NULL)
		fail_msg("%s: %s", q, e.message);
	while (p->kind != KQL_P_SCAN)
		p = p->in[p->nin - 1];
	for (size_t c = 0; c < p->ncols; c++)
		if (p->reads[c])
			(void)snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
			               got[0] ? "," : "", p->cols[c].name);
	if (strcmp(got, want) != 0)
		fail_msg("%s: reads %s, want %s", q, got, want);
	kql_arena_free(a);
}

static void test_reads(void **state)
{
	expect_reads("Events | where Timestamp > ago(1h) | summarize count() by Level",
	             "Timestamp,Level");
	expect_reads("Events | project Code, L = Latency * 2 | take 5", "Latency,Code");
	expect_reads("Events | extend x = Code | project x", "Code");
	expect_reads("Events | sort by Small | project Host", "Host,Small");
	expect_reads("Events | distinct Level", "Level");
	expect_reads("Hosts | join (Events | project Host, Took) on Host | project Took",
	             "Host,Took");
	expect_reads("Events | mv-expand Props | project Props", "Props");
	expect_reads("Events | summarize arg_max(Timestamp, Level) by Host",
	             "Timestamp,Level,Host");
}

/* Conjuncts comparing a datetime column with a constant reach the scan. */
static void test_time_bounds(void **state)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	const struct kql_plan *p =
	    bind(a,
	         "Events | where Level == 'x' and Timestamp >= datetime(2020-01-01) | "
	         "where ago(1h) > Timestamp and Timestamp between (ago(2d) .. now()) | "
	         "where Timestamp > Timestamp - 1h or Code == 1",
	         &e);

	assert_non_null(p);
	while (p->kind != KQL_P_SCAN)
		p = p->in[0];
	assert_int_equal(p->nbounds, 4);
	assert_int_equal(p->bounds[0].op, KQL_OP_GE);
	assert_int_equal(p->bounds[1].op, KQL_OP_LT); /* flipped: Timestamp < ago(1h) */
	assert_int_equal(p->bounds[2].op, KQL_OP_GE);
	assert_int_equal(p->bounds[3].op, KQL_OP_LE);
	assert_int_equal(p->bounds[0].col, 0);
	kql_arena_free(a);
}

/* ingestion_time(): a datetime over a table's rows, carried by the
 * operators down to the scan; refused where the rows are no table's. */
static void test_ingestion_time(void **state)
{
	expect_type("ingestion_time()", PROTO_T_DATETIME);
	expect_plan("Events | project Host | take 3 | extend t = ingestion_time()",
	            "project =[Host, ingestion_time()] -> (Host:string, t:datetime)\n"
	            "  take limit=3 +ingestion_time -> (Host:string)\n"
	            "    project =[Host] +ingestion_time -> (Host:string)\n"
	            "      scan Logs.Events reads=[Host] +ingestion_time -> (Timestamp:datetime, "
	            "Level:string, Host:string, Latency:real, Code:long, Props:dynamic, "
	            "Small:int, Id:guid, Took:timespan)\n");
	expect_error("print ingestion_time()", KQL_E_UNSUPPORTED, 1, 7, "no table rows");
	expect_error("Events | summarize count() by Host | extend t = ingestion_time()",
	             KQL_E_UNSUPPORTED, 1, 49, "they come from summarize");
	expect_error("Events | join kind=inner (Hosts) on Host | where ingestion_time() > ago(1h)",
	             KQL_E_UNSUPPORTED, 1, 50, "they come from join");
	expect_error("union Events, Hosts | extend ingestion_time()", KQL_E_UNSUPPORTED, 1, 30,
	             "they come from union");
	expect_error("Events | distinct Host | extend ingestion_time()", KQL_E_UNSUPPORTED, 1, 33,
	             "they come from distinct");
	expect_error("datatable(a:long)[1] | where ingestion_time() > ago(1h)", KQL_E_UNSUPPORTED,
	             1, 30, "datatable or print");
	expect_error("Events | extend ingestion_time(1)", KQL_E_ARGS, 1, 17, "expects 0 to 0");
}

/* Comparisons of numbers and timespans with constants, in and between,
 * and ingestion_time()'s, are pushed into the scan too. */
static void test_stat_bounds(void **state)
{
	expect_plan("Events | where Code > 5 and Latency in (1.5, 2) and Small between (1 .. 2) "
	            "and Took < 1h and ingestion_time() > ago(1d) and Level == 'x' and Latency "
	            "> Code and Latency in (dynamic([1]))",
	            "filter =[((((((((Code > 5) and Latency in (real(1.5), 2)) and Small between "
	            "(1 .. 2)) and (Took < timespan(01:00:00))) and (ingestion_time() > "
	            "ago(timespan(1.00:00:00)))) and (Level == \"x\")) and (Latency > Code)) and "
	            "Latency in (dynamic([1])))] -> (Timestamp:datetime, Level:string, "
	            "Host:string, Latency:real, Code:long, Props:dynamic, Small:int, Id:guid, "
	            "Took:timespan)\n"
	            "  scan Logs.Events reads=[Timestamp, Level, Host, Latency, Code, Props, "
	            "Small, Id, Took] [Code > 5] [Latency in (real(1.5), 2)] [Small >= 1] "
	            "[Small <= 2] [Took < timespan(01:00:00)] [ingestion_time() > "
	            "ago(timespan(1.00:00:00))] +ingestion_time -> (Timestamp:datetime, "
	            "Level:string, Host:string, Latency:real, Code:long, Props:dynamic, "
	            "Small:int, Id:guid, Took:timespan)\n");
}

static void test_errors(void **state)
{
	expect_error("Nope | count", KQL_E_NAME, 1, 1,
	             "Failed to resolve table expression named 'Nope'");
	expect_error("database('Nope').T", KQL_E_NAME, 1, 1, "database named 'Nope'");
	expect_error("Events\n| where Nope > 1", KQL_E_NAME, 2, 9,
	             "'where' operator: Failed to resolve scalar expression named 'Nope'");
	expect_error("Events | project Level | where Code > 1", KQL_E_NAME, 1, 32, "'Code'");
	expect_error("Events | project-away Nope", KQL_E_NAME, 1, 23, "'Nope'");
	expect_error("Events | where Level + 1 > 2", KQL_E_TYPE, 1, 16, "'string' and 'long'");
	expect_error("Events | where Code", KQL_E_TYPE, 1, 16, "must be bool");
	expect_error("Events | where Code == 'a'", KQL_E_TYPE, 1, 16, "'==");
	expect_error("print foo(1)", KQL_E_FUNCTION, 1, 7, "Unknown function: 'foo'");
	expect_error("print hash_xxhash64('a')", KQL_E_UNSUPPORTED, 1, 7, "'hash_xxhash64'");
	expect_error("Events | where count() > 1", KQL_E_TYPE, 1, 16, "only allowed in summarize");
	expect_error("Events | summarize sum(Level)", KQL_E_TYPE, 1, 20, "numeric");
	expect_error("Events | summarize Code + 1", KQL_E_UNSUPPORTED, 1, 20,
	             "a column outside an aggregate");
	expect_error("Events | summarize x = 1", KQL_E_TYPE, 1, 24, "an aggregate expected");
	expect_error("print strlen()", KQL_E_ARGS, 1, 7, "strlen(): expects 1 to 1");
	expect_error("Events | take Code", KQL_E_NAME, 1, 15, "'Code'");
	expect_error("Events | take 'a'", KQL_E_TYPE, 1, 15, "constant int or long");
	expect_error("Hosts | join Events on Code", KQL_E_NAME, 1, 24, "left side");
	expect_error("Hosts | join (Events) on $left.Host == $right.Code", KQL_E_TYPE, 1, 26,
	             "differ in type");
	expect_error("Events | mv-expand Level", KQL_E_TYPE, 1, 20, "not dynamic");
	expect_error("Events | project Level.a", KQL_E_TYPE, 1, 18, "only dynamic");
	expect_error("datatable(a:long)['x']", KQL_E_TYPE, 1, 19, "'string' value in column 'a'");
	expect_error("range x from 1 to 'a' step 1", KQL_E_TYPE, 1, 1, "not a valid range");
	expect_error("print x = 1 | project x, x", KQL_E_NAME, 1, 26, "projected twice");
	expect_error("print Timestamp", KQL_E_NAME, 1, 7, "'Timestamp'");
}

static const struct {
	const char *source, *query, *columns;
} docs[] = {
#include "kql_doc_examples.inc"
};

static void test_doc_examples(void **state)
{
	struct kql_schema none = {NULL, 0, NULL};
	size_t passed = 0;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct kql_arena *a = kql_arena_new();
		struct kql_query *q = NULL;
		struct kql_error e = {0};
		char *got;
		if (kql_compile(a, docs[i].query, strlen(docs[i].query), &none, &q, &e) != 0)
			fail_msg("%s: %s", docs[i].source, e.message);
		got = names_of(q->results[q->nresults - 1]);
		if (strcmp(got, docs[i].columns) != 0)
			fail_msg("%s: columns %s, documented %s", docs[i].source, got,
			         docs[i].columns);
		passed++;
		free(got);
		kql_arena_free(a);
	}
	printf("# %zu documentation examples bound with their documented columns (Kusto's where "
	       "the page misnames one)\n",
	       passed);
}

/* A table of another database is marked foreign, and the executor reads
 * it as the view "db/table"; the request database's are read as is. */
static void test_foreign_scan(void **state)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	const struct kql_plan *p = bind(a, "database('Other').Machines", &e);
	char *sql;

	assert_non_null(p);
	assert_true(p->kind == KQL_P_SCAN && p->foreign);
	assert_non_null(sql = kql_exec_sql(p));
	assert_non_null(strstr(sql, "FROM \"Other/Machines\""));
	free(sql);
	p = bind(a, "database('Logs').Hosts", &e);
	assert_true(p != NULL && p->kind == KQL_P_SCAN && !p->foreign);
	kql_arena_free(a);
}

/* The withsource names of the union q ends with, in its inputs' order. */
static void expect_sources(const char *q, const char *want)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	const struct kql_plan *p = bind(a, q, &e);
	char *got = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&got, &len);

	if (p == NULL)
		fail_msg("%s: %s", q, e.message);
	assert_true(p->kind == KQL_P_UNION && p->sources != NULL && f != NULL);
	for (size_t i = 0; i < p->nin; i++)
		fprintf(f, "%s%s", i > 0 ? "," : "", p->sources[i]);
	assert_int_equal(fclose(f), 0);
	if (strcmp(got, want) != 0)
		fail_msg("%s\n got %s\nwant %s", q, got, want);
	free(got);
	kql_arena_free(a);
}

/* union's wildcard names: the current (or named) database's tables whose
 * names match, '*' anywhere, case-sensitive, in the order of their names,
 * withsource naming each table; none matching is an error. */
static void test_union_wildcards(void **state)
{
	use = &wild;
	expect_sources("union withsource=S E*", "Ev2,Events,Evs");
	expect_sources("union withsource=S *", "Ab,Ev2,Events,Evs,ev3");
	expect_sources("union withsource=S E*s", "Events,Evs");
	expect_sources("union withsource=S *v*2, *v**3", "Ev2,ev3");
	expect_sources("union withsource=S e*, Ab*, (Ab | as X)", "ev3,Ab,X");
	expect_sources("Ab | union withsource=S Ev*2, *Events*", "Ab,Ev2,Events");
	expect_sources("union withsource=S database('Other').M*, database('W').A*", "Machines,Ab");
	expect_names("union withsource=S *3, Evs", "S,Code_string,Code_long");
	expect_names("union kind=inner A*, *2", "Host,Region");
	expect_error("union X*", KQL_E_NAME, 1, 7, "no table matches 'X*'");
	expect_error("Ab | union withsource=S Ab, ab*", KQL_E_NAME, 1, 29,
	             "no table matches 'ab*'");
	expect_error("union Ab, *s*s", KQL_E_NAME, 1, 11, "'*s*s'");
	expect_error("union database('Nope').M*", KQL_E_NAME, 1, 7, "database named 'Nope'");
	expect_error("union database('Other').X*", KQL_E_NAME, 1, 7,
	             "no table of database 'Other' matches 'X*'");
	/* a let is no table: the pattern sees the schema's only */
	expect_error("let Xy = Ab; union X*", KQL_E_NAME, 1, 20, "'X*'");
	/* isfuzzy=true leaves out the legs that name nothing; none left is
	 * the first one's error; other errors are kept */
	expect_sources("union isfuzzy=true withsource=S X*, Ab, Nope, database('Nope').T, E*2",
	               "Ab,Ev2");
	expect_sources("let Xy = Ab; union withsource=S isfuzzy=true Xy, Zz", "Ab");
	expect_sources("Ab | union isfuzzy=true withsource=S Nope", "Ab");
	expect_error("union isfuzzy=true Nope, X*", KQL_E_NAME, 1, 20, "'Nope'");
	expect_error("union isfuzzy=true X*, Nope", KQL_E_NAME, 1, 20, "no table matches 'X*'");
	expect_error("union isfuzzy=true Ab, (Ab | where Nope > 1)", KQL_E_NAME, 1, 36, "'Nope'");
	expect_error("union isfuzzy=false Ab, Nope", KQL_E_NAME, 1, 25, "'Nope'");
	use = &schema;
}

/* A union reads at most KQL_MAX_UNION inputs, a wildcard name counting
 * each table it matches; up to 16 tables it still splits, past them it
 * runs whole (kql_split). */
static void test_union_bound(void **state)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	const struct kql_plan *p;
	struct kql_split sp;
	char q[8192];
	int n = snprintf(q, sizeof(q), "union T000");

	use = &many;
	assert_non_null(p = bind(a, "union T0*, T1*, T2*, T3*, T4*", &e));
	assert_int_equal(p->nin, KQL_MAX_UNION);
	expect_error("union T*", KQL_E_LIMIT, 1, 7, "more than 500 inputs");
	expect_error("union T0*, T1*, T2*, T3*, T4*, T599", KQL_E_LIMIT, 1, 32, "more than 500");
	expect_error("union T0*, T1*, T2*, T3*, T4*, T5*", KQL_E_LIMIT, 1, 32, "counts each table");
	for (int i = 1; i <= KQL_MAX_UNION; i++)
		n += snprintf(q + n, sizeof(q) - (size_t)n, ", T%03d", i);
	expect_error(q, KQL_E_LIMIT, 1, 7 + 6 * KQL_MAX_UNION, "more than 500 inputs");
	assert_non_null(
	    p = bind(a, "union T01*, T02*0, T00*1, T03*2, T04*3, T05*4, T06*5 | count", &e));
	assert_int_equal(kql_split(a, p, &sp), 0);
	assert_int_equal(sp.nscans, 16);
	assert_string_equal(sp.scans[0]->table, "T010");
	assert_string_equal(sp.scans[10]->table, "T020");
	assert_string_equal(sp.scans[11]->table, "T001");
	assert_string_equal(sp.scans[15]->table, "T065");
	assert_non_null(
	    p = bind(a, "union T01*, T02*0, T00*1, T03*2, T04*3, T05*4, T06*5, T07*6 | count", &e));
	assert_int_equal(kql_split(a, p, &sp), 1);
	use = &schema;
	kql_arena_free(a);
}

/* project-away's wildcard names match the input's columns ('*'
 * anywhere, case-sensitive); each must match one at least, and one left. */
static void test_away_wildcards(void **state)
{
	use = &schema;
	expect_names("Events | project-away *s, L*, T*", "Host,Code,Small,Id");
	expect_names("Events | project-away *o*", "Timestamp,Level,Latency,Small,Id");
	expect_names("Events | project-away L*y, Level", "Timestamp,Host,Code,Props,Small,Id,Took");
	expect_names("Hosts | project-away H*, Host", "Region");
	expect_names("Hosts | extend Hx = 1 | project-away H*t", "Region,Hx");
	expect_error("Events | project-away l*", KQL_E_NAME, 1, 23, "no column matches 'l*'");
	expect_error("Events | project-away Host, *x*", KQL_E_NAME, 1, 29, "'*x*'");
	expect_error("Hosts | project-away *", KQL_E_UNSUPPORTED, 1, 9, "removes every column");
	expect_error("Hosts | project-away Region, Host", KQL_E_UNSUPPORTED, 1, 9,
	             "removes every column");
}

/* project-keep keeps what its items name, in the input's order;
 * project-reorder puts it first, in the items' order (a pattern's columns
 * as they come, or by name), each column where it is first named, the
 * others after as they come. */
/* Arguments against the functions' parameter types (Kusto.Language's
 * declarations): a mistyped one is an error at its position, where it was
 * read as the function's own type (startofday('x') was 1970). */
static void test_param_types(void **state)
{
	expect_error("print startofday('x')", KQL_E_TYPE, 1, 18, "argument 1 must be a datetime");
	expect_error("print sqrt(1h)", KQL_E_TYPE, 1, 12, "must be a number, not 'timespan'");
	expect_error("print datetime_add('day', 'x', now())", KQL_E_TYPE, 1, 27,
	             "argument 2 must be an int or a long");
	expect_error("print strlen(123)", KQL_E_TYPE, 1, 14, "must be a string, not 'long'");
	expect_error("print round(1.5, 1.5)", KQL_E_TYPE, 1, 18, "argument 2");
	expect_error("print dayofweek(1)", KQL_E_TYPE, 1, 17, "a datetime");
	expect_error("print hourofday(dynamic(1))", KQL_E_TYPE, 1, 17, "convert it");
	expect_error("print trim(1, 'a')", KQL_E_TYPE, 1, 12, "a string");
	/* Kusto refuses two dynamic values compared, and one ordered against
	 * a string (measured: SEM0001, SEM0064) */
	expect_error("print dynamic(1) == dynamic(1)", KQL_E_TYPE, 1, 7, "dynamic and dynamic");
	expect_error("print dynamic('a') < 'b'", KQL_E_TYPE, 1, 7, "dynamic and string");
	/* between ranges numbers, datetimes, timespans (Kusto: SEM0208) */
	expect_error("print 'b' between ('a' .. 'c')", KQL_E_TYPE, 1, 7,
	             "'string' value has no range");
	/* a text parameter takes any value, through tostring */
	expect_type("tolower(Code)", PROTO_T_STRING);
	expect_type("substring(Timestamp, 0, 4)", PROTO_T_STRING);
	expect_type("hourofday(Timestamp)", PROTO_T_INT);
	expect_type("endofmonth(Timestamp, -1)", PROTO_T_DATETIME);
}

/* declare query_parameters: each value converted as its type reads text
 * (or in its literal's form), never parsed as KQL; a default when the
 * request gives none; no value and no default an error naming it. */
static void test_declare(void **state)
{
	char *names[] = {"n", "t", "d", "s", "bad"};
	char *values[] = {"7", "datetime(2020-01-02)", "dynamic([1, 2])", "a') | union x",
	                  "1) | x"};
	struct kql_params ok = {names, values, 4}, bad = {names + 4, values + 4, 1};
	struct kql_arena *a = kql_arena_new();
	const char *q = "declare query_parameters(n:long, t:datetime, d:dynamic, s:string, "
	                "k:long = 3); print n, t, d, s, k";
	struct kql_query *kq;
	struct kql_error e = {0};
	const struct kql_plan *p;

	assert_int_equal(kql_compile_params(a, q, strlen(q), &schema, &ok, &kq, &e), 0);
	p = kq->results[0];
	assert_int_equal(p->cols[0].type, PROTO_T_LONG);
	assert_int_equal(p->cols[1].type, PROTO_T_DATETIME);
	assert_int_equal(p->cols[2].type, PROTO_T_DYNAMIC);
	assert_int_equal(p->cols[3].type, PROTO_T_STRING);
	assert_int_equal(p->cols[4].type, PROTO_T_LONG);
	q = "declare query_parameters(bad:long); print bad";
	assert_int_equal(kql_compile_params(a, q, strlen(q), &schema, &bad, &kq, &e), -EINVAL);
	assert_non_null(strstr(e.message, "is no 'long' value"));
	kql_arena_free(a);
	expect_error("declare query_parameters(x:long); print x", KQL_E_NAME, 1, 26,
	             "query parameter 'x' has no value");
}

static void test_keep_reorder(void **state)
{
	use = &schema;
	expect_names("Events | project-keep Took, Host", "Host,Took");
	expect_names("Events | project-keep T*, Host, Ho*", "Timestamp,Host,Took");
	expect_error("Events | project-keep Nope", KQL_E_NAME, 1, 23,
	             "'project-keep' operator: Failed to resolve column named 'Nope'");
	expect_error("Events | project-keep Host, x*", KQL_E_NAME, 1, 29, "no column matches 'x*'");
	expect_names("Events | project-reorder Took, Host",
	             "Took,Host,Timestamp,Level,Latency,Code,Props,Small,Id");
	expect_names("Events | project-reorder *o*",
	             "Host,Code,Props,Took,Timestamp,Level,Latency,Small,Id");
	expect_names("Events | project-reorder *o* asc",
	             "Code,Host,Props,Took,Timestamp,Level,Latency,Small,Id");
	expect_names("Events | project-reorder *o* desc",
	             "Took,Props,Host,Code,Timestamp,Level,Latency,Small,Id");
	expect_names("Events | project-reorder Props, *o* asc, Id, P*",
	             "Props,Code,Host,Took,Id,Timestamp,Level,Latency,Small");
	expect_names("Hosts | project-reorder Region", "Region,Host");
	expect_error("Events | project-reorder Nope", KQL_E_NAME, 1, 26,
	             "'project-reorder' operator: Failed to resolve column named 'Nope'");
	expect_error("Events | project-reorder Host, x* asc", KQL_E_NAME, 1, 32,
	             "no column matches 'x*'");
}

/* bin_at's key keeps its column's name, as bin's; its types are checked
 * under its own name. */
static void test_bin_at(void **state)
{
	use = &schema;
	expect_names(
	    "Events | summarize count() by bin_at(Timestamp, 1h, datetime(2020-01-01 00:30))",
	    "Timestamp,count_");
	expect_names("Events | project bin_at(Code, 10, 5), bin_at(Took, 1h, 30m)", "Code,Took");
	expect_error("Events | project bin_at(Host, 1, 2)", KQL_E_TYPE, 1, 18,
	             "bin_at(): cannot bin a 'string'");
	expect_error("Events | project bin_at(Timestamp, 1h, 1h)", KQL_E_TYPE, 1, 18,
	             "from a 'timespan'");
	expect_error("Events | project bin_at(Code, 1)", KQL_E_ARGS, 1, 18, "expects 3 arguments");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_arithmetic_types),
	    cmocka_unit_test(test_function_types),
	    cmocka_unit_test(test_aggregate_names),
	    cmocka_unit_test(test_operator_names),
	    cmocka_unit_test(test_lets),
	    cmocka_unit_test(test_math_names),
	    cmocka_unit_test(test_plans),
	    cmocka_unit_test(test_reads),
	    cmocka_unit_test(test_time_bounds),
	    cmocka_unit_test(test_ingestion_time),
	    cmocka_unit_test(test_stat_bounds),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_param_types),
	    cmocka_unit_test(test_declare),
	    cmocka_unit_test(test_keep_reorder),
	    cmocka_unit_test(test_bin_at),
	    cmocka_unit_test(test_foreign_scan),
	    cmocka_unit_test(test_union_wildcards),
	    cmocka_unit_test(test_union_bound),
	    cmocka_unit_test(test_away_wildcards),
	    cmocka_unit_test(test_doc_examples),
	};

	for (int i = 0; i < NMANY; i++) {
		(void)snprintf(many_names[i], sizeof(many_names[i]), "T%03d", i);
		many_tables[i].name = many_names[i];
		many_tables[i].columns = code_long;
		many_tables[i].ncolumns = 1;
	}

	return cmocka_run_group_tests(tests, NULL, NULL);
}
