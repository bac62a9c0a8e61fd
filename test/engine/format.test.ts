// --format with Go templates, as Docker documents it for inspect, ps, images,
// volume ls/inspect, stats, version and info: fields, several fields, table
// with a header row, and an unknown field as an error (exit 1, Go's wording),
// never the default output with exit 0.
import { describe, expect, test } from "bun:test";
import { engineEnvForFile, idOf } from "./helpers.ts";

const env = engineEnvForFile();

describe("--format templates", () => {
  test("inspect -f: one field, several fields, json, range; image inspect --format", () => {
    const id = idOf(env.run(["run", "-d", "--name", "fmt1", "-l", "team=a", "berth/busybox", "sleep", "30"]));
    expect(env.run(["inspect", "-f", "{{.State.Status}}", "fmt1"]).stdout).toBe("running\n");
    expect(env.run(["inspect", "--format", '{{.Name}} {{.State.Running}} {{index .Config.Labels "team"}}', "fmt1"]).stdout).toBe("fmt1 true a\n");
    expect(JSON.parse(env.run(["inspect", "-f", "{{json .Config.Labels}}", "fmt1"]).stdout).team).toBe("a");
    expect(env.run(["inspect", "-f", "{{.Id}}", "fmt1", "fmt1"]).stdout).toBe(`${id}\n${id}\n`);
    expect(env.run(["inspect", "-f", "{{range .Config.Cmd}}[{{.}}]{{end}}", "fmt1"]).stdout).toBe("[sleep][30]\n");
    expect(env.run(["image", "inspect", "--format", "{{.Os}}/{{len .RootFS.Layers}}", "berth/busybox"]).stdout).toBe("linux/1\n");
  });

  test("ps and images --format: a line per row; table: header row and aligned columns", () => {
    idOf(env.run(["run", "-d", "--name", "fmt2", "-l", "k=v", "berth/busybox", "sleep", "30"]));
    expect(env.run(["ps", "--format", '{{.Names}} {{.State}} {{.Label "k"}} {{.Labels}}']).stdout).toBe("fmt2 running v k=v\n");
    const t = env.run(["ps", "--format", "table {{.ID}}\\t{{.Names}}\\t{{.Image}}"]).stdout.split("\n");
    expect(t[0]).toMatch(/^CONTAINER ID   NAMES\s+IMAGE$/);
    expect(t[1]).toMatch(/^[a-f0-9]{12}   fmt2\s+berth\/busybox$/);
    expect(t[0]!.indexOf("IMAGE")).toBe(t[1]!.indexOf("berth/busybox"));
    expect(env.run(["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout).toBe("berth/busybox:latest\n");
    expect(env.run(["images", "--format", "table {{.Repository}}\\t{{.ID}}"]).stdout).toMatch(/^REPOSITORY\s+IMAGE ID\nberth\/busybox\s+[a-f0-9]{12}\n$/);
  });

  test("volume ls and volume inspect --format; version and info --format", () => {
    expect(env.run(["volume", "create", "fmtvol"]).code).toBe(0);
    expect(env.run(["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]).stdout).toBe("fmtvol local\n");
    expect(env.run(["volume", "inspect", "--format", "{{.Name}}:{{.Scope}}", "fmtvol"]).stdout).toBe("fmtvol:local\n");
    expect(env.run(["volume", "rm", "fmtvol"]).code).toBe(0);
    expect(env.run(["version", "--format", "{{.Client.Version}}"]).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(env.run(["info", "--format", "{{.OSType}} {{.Containers}}"]).stdout).toBe("linux 0\n");
  });

  test("stats --format", () => {
    idOf(env.run(["run", "-d", "--name", "fmt3", "berth/busybox", "sleep", "30"]));
    expect(env.run(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "fmt3"]).stdout).toBe("fmt3 1\n");
  });

  test("an unknown field, function or bad syntax is an error naming it: exit 1, nothing on stdout", () => {
    idOf(env.run(["run", "-d", "--name", "fmt4", "berth/busybox", "sleep", "30"]));
    const a = env.run(["inspect", "-f", "{{.State.Nope}}", "fmt4"]);
    expect([a.code, a.stdout]).toEqual([1, ""]);
    expect(a.stderr).toContain('template: :1:8: executing "" at <.State.Nope>: map has no entry for key "Nope"');
    const b = env.run(["ps", "--format", "{{.Nope}}"]);
    expect([b.code, b.stdout]).toEqual([1, ""]);
    expect(b.stderr).toContain("can't evaluate field Nope in type *formatter.ContainerContext");
    const c = env.run(["images", "--format", "{{nope .ID}}"]);
    expect([c.code, c.stderr.trim()]).toEqual([1, 'berth: template parsing error: template: :1: function "nope" not defined']);
    expect(env.run(["inspect", "-f", "{{.Name", "fmt4"]).code).toBe(1);
  });
});
