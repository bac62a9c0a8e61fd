// Go's text/template as Docker's --format uses it (src/engine/template.ts).
// The cases are Docker's documented examples (docs "Format command and log
// output", `docker inspect` and `docker ps --format`), and Go's text/template
// rules: variables, pipelines, range/else, comparison, errors in Go's wording.
import { describe, expect, test } from "bun:test";
import { context, execute, formatEach, formatRows, parseTemplate, sprintf } from "../../src/engine/template.ts";

const run = (src: string, data: unknown) => execute(parseTemplate(src), data);

const inspect = {
  Name: "/web",
  LogPath: "/var/lib/x.log",
  Config: { Image: "ubuntu:latest", Labels: { "com.example.vendor": "ACME" }, Env: ["A=1", "B=2"], Entrypoint: null },
  State: { Status: "running", Pid: 1234, Running: true, ExitCode: 0 },
  HostConfig: { NetworkMode: "bridge" },
  NetworkSettings: {
    Networks: { bridge: { IPAddress: "172.17.0.2" } },
    Ports: { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }], "443/tcp": [{ HostIp: "0.0.0.0", HostPort: "8443" }] },
  },
};

describe("Docker's documented examples", () => {
  test("inspect: fields, nested fields, several fields", () => {
    expect(run("{{.LogPath}}", inspect)).toBe("/var/lib/x.log");
    expect(run("{{.Config.Image}}", inspect)).toBe("ubuntu:latest");
    expect(run("{{.Name}} {{.HostConfig.NetworkMode}}", inspect)).toBe("/web bridge");
    expect(run("{{.State.Pid}} {{.State.Running}}", inspect)).toBe("1234 true");
  });
  test("inspect: range over a map, variables, index of a slice", () => {
    expect(run("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", inspect)).toBe("172.17.0.2");
    expect(run("{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}", inspect)).toBe(
      " 443/tcp -> 8443  80/tcp -> 8080 ",
    );
  });
  test("json, join, split, lower, upper, title, println, pad, truncate", () => {
    expect(run("{{json .Config.Labels}}", inspect)).toBe('{"com.example.vendor":"ACME"}');
    expect(run('{{join .Config.Env " , "}}', inspect)).toBe("A=1 , B=2");
    expect(run('{{split .Config.Image ":"}}', inspect)).toBe("[ubuntu latest]");
    expect(run("{{lower .State.Status}} {{upper .State.Status}} {{title .State.Status}}", inspect)).toBe("running RUNNING Running");
    expect(run("{{range .Config.Env}}{{println .}}{{end}}", inspect)).toBe("A=1\nB=2\n");
    expect(run("[{{pad .State.Status 1 2}}]{{truncate .State.Status 3}}", inspect)).toBe("[ running  ]run");
  });
  test("index of a label (a missing label is empty, as for Docker's map of strings)", () => {
    expect(run('{{index .Config.Labels "com.example.vendor"}}', inspect)).toBe("ACME");
    expect(run('{{index .Config.Labels "nope"}}', inspect)).toBe("");
  });
  test("ps --format with table: a header row from the field names, aligned columns", () => {
    const C = (id: string, names: string, status: string) =>
      context("*formatter.ContainerContext", { ID: id, Names: names, Status: status, Label: (a: unknown[]) => (a[0] === "k" ? "v" : "") });
    const out = formatRows('table {{.ID}}\\t{{.Names}}\\t{{.Label "k"}}', [C("abc", "web", "Up"), C("def", "database-long-name", "Up")], {
      ID: "CONTAINER ID",
      Names: "NAMES",
    });
    expect(out).toBe("CONTAINER ID   NAMES                LABEL\nabc            web                  v\ndef            database-long-name   v\n");
    expect(formatRows("{{.ID}}: {{.Names}}", [C("abc", "web", "Up")])).toBe("abc: web\n");
    expect(formatRows("table {{.Names}}", [])).toBe("NAMES\n");
  });
  test("inspect runs the template once per object", () => {
    expect(formatEach("{{.Name}}", [{ Name: "a" }, { Name: "b" }])).toBe("a\nb\n");
  });
});

describe("Go's text/template", () => {
  test("if / else if / else with and, or, not, eq, ne, lt, gt", () => {
    const t = '{{if eq .S "running"}}up{{else if eq .S "exited" "dead"}}down{{else}}other{{end}}';
    expect(run(t, { S: "running" })).toBe("up");
    expect(run(t, { S: "dead" })).toBe("down");
    expect(run(t, { S: "created" })).toBe("other");
    expect(
      run("{{if and .A (not .B)}}y{{end}}{{or .B .C}}{{if ne .N 3}}!{{end}}{{if lt .N 5}}<{{end}}{{if gt .N 1}}>{{end}}", { A: 1, B: "", C: "c", N: 2 }),
    ).toBe("yc!<>");
    expect(run("{{if le 2 2}}a{{end}}{{if ge 1 2}}b{{end}}", {})).toBe("a");
  });
  test("variables, assignment, $ inside range, pipelines, parenthesised pipelines", () => {
    expect(run("{{$n := .Name}}{{range .L}}{{$n}}-{{.}}{{$.Name}} {{end}}", { Name: "x", L: [1, 2] })).toBe("x-1x x-2x ");
    expect(run("{{$c := 0}}{{range .L}}{{$c = .}}{{end}}{{$c}}", { L: [1, 2, 3] })).toBe("3");
    expect(run('{{.Name | printf "%s!" | upper}}', { Name: "x" })).toBe("X!");
    expect(run('{{len (index .M "k")}} {{len .L}}', { M: { k: "abc" }, L: [1, 2] })).toBe("3 2");
  });
  test("range with else, break and continue; with/else; comments and trimming", () => {
    expect(run("{{range .L}}{{.}}{{else}}none{{end}}", { L: [] })).toBe("none");
    expect(run("{{range $i, $v := .L}}{{if eq $i 3}}{{break}}{{end}}{{if eq $v 1}}{{continue}}{{end}}{{$v}}{{end}}", { L: [0, 1, 5, 6] })).toBe("05");
    expect(run("{{with .A}}{{.B}}{{else}}no{{end}}|{{with .Z}}z{{else}}no{{end}}", { A: { B: "b" }, Z: "" })).toBe("b|no");
    expect(run("a {{- /* c */ -}} b {{- .X -}} c", { X: 1 })).toBe("ab1c");
  });
  test("printf, print and values as Go prints them", () => {
    expect(sprintf("%5s|%-4d|%03d|%q|%.2f|%x|%v|%t", ["ab", 7, 5, "h", 1.5, 255, [1, "a"], true])).toBe('   ab|7   |005|"h"|1.50|ff|[1 a]|true');
    expect(run('{{print 1 2 "a" 3}} {{.M}} {{.Missing}}', { M: { b: 2, a: [1] }, Missing: null })).toBe("1 2a3 map[a:[1] b:2] <no value>");
  });
});

describe("errors name what is wrong, in Go's wording", () => {
  const err = (src: string, data: unknown) => {
    try {
      return `ok: ${run(src, data)}`;
    } catch (e) {
      return (e as Error).message;
    }
  };
  test("an unknown field of a struct, of a map, of a string", () => {
    expect(err("{{.Nope}}", context("*formatter.ContainerContext", { ID: "x" }))).toBe(
      'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext',
    );
    expect(err("{{.State.Foo}}", inspect)).toBe('template: :1:8: executing "" at <.State.Foo>: map has no entry for key "Foo"');
    expect(err("x\n{{.Name.Foo}}", inspect)).toBe('template: :2:7: executing "" at <.Name.Foo>: can\'t evaluate field Foo in type string');
  });
  test("parse errors: unknown function, unclosed action, missing end, undefined variable", () => {
    expect(err("{{nope .A}}", {})).toBe('template: :1: function "nope" not defined');
    expect(err("{{.A", {})).toBe("template: :1: unclosed action");
    expect(err("{{if .A}}x", {})).toBe("template: :1: unexpected EOF");
    expect(err("{{$x}}", {})).toBe('template: :1: undefined variable "$x"');
  });
  test("function errors", () => {
    expect(err("{{index .L 5}}", { L: [1] })).toBe('template: :1:2: executing "" at <index .L 5>: error calling index: index out of range: 5');
    expect(err('{{eq .A "x"}}', { A: 1 })).toBe('template: :1:2: executing "" at <eq .A "x">: error calling eq: incompatible types for comparison');
  });
});
