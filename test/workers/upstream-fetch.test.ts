// FetchUpstreamTransport inside workerd against real node:http upstreams on 127.0.0.1 (test/workers/global-setup.ts).
import { describe, expect, inject, it } from "vitest";
import { BodyStream } from "../../gateway/body-stream.js";
import { UpstreamError, type UpstreamTarget } from "../../gateway/upstream.js";
import { FetchUpstreamTransport } from "../../gateway/upstream-fetch.js";

const edge = inject("edge");

function target(port: number): UpstreamTarget & { opened: number; closed: number } {
  return {
    address: { address: "127.0.0.1", port },
    key: `127.0.0.1:${port}`,
    pool: { maxConnections: 10 },
    opened: 0,
    closed: 0,
    connectionOpened() {
      this.opened++;
    },
    connectionClosed() {
      this.closed++;
    },
  };
}

describe("FetchUpstreamTransport in workerd", () => {
  const transport = new FetchUpstreamTransport();

  it("sends method, path, headers and body; returns status, headers (each set-cookie) and body", async () => {
    const t = target(edge.upstreams.v1);
    const res = await transport.send(t, 1000, {
      method: "PUT",
      path: "/a/b?c=d",
      headers: [["host", "payments.example"], ["x-one", "1"], ["content-length", "999"]],
      body: new TextEncoder().encode("hello"),
    }, 2000);
    expect(res.status).toBe(200);
    const echo = JSON.parse(new TextDecoder().decode(res.body)) as { method: string; url: string; headers: Record<string, string>; body: string };
    expect([echo.method, echo.url, echo.body]).toEqual(["PUT", "/a/b?c=d", "hello"]);
    expect(echo.headers).toMatchObject({ "x-one": "1", "content-length": "5", "x-forwarded-host": "payments.example" });
    expect(res.headers.filter(([k]) => k === "set-cookie")).toEqual([["set-cookie", "a=v1"], ["set-cookie", "b=2"]]);
    expect(res.headers).toContainEqual(["x-upstream", "v1"]);
    expect([t.opened, t.closed]).toEqual([1, 1]);
  });

  it("keeps an x-forwarded-host the request already has", async () => {
    const res = await transport.send(target(edge.upstreams.v1), 1000, { method: "GET", path: "/", headers: [["host", "a"], ["x-forwarded-host", "b"]], body: new Uint8Array(0) }, 2000);
    expect((JSON.parse(new TextDecoder().decode(res.body)) as { headers: Record<string, string> }).headers["x-forwarded-host"]).toBe("b");
  });

  it("rejects with UpstreamError timeout when the response takes longer than the timeout", async () => {
    const t = target(edge.upstreams.v1);
    const err = await transport.send(t, 1000, { method: "GET", path: "/slow", headers: [], body: new Uint8Array(0) }, 100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).kind).toBe("timeout");
    expect([t.opened, t.closed]).toEqual([1, 1]);
  });

  it("rejects with UpstreamError connect_failure when nothing listens", async () => {
    const err = await transport.send(target(edge.deadPort), 1000, { method: "GET", path: "/", headers: [], body: new Uint8Array(0) }, 2000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).kind).toBe("connect_failure");
  });

  describe("a request body still arriving", () => {
    /** A body whose second half arrives `gapMs` after the first, as a slow client sends it. */
    function slowBody(second: string, gapMs: number): BodyStream {
      let resumed = false;
      const more = new BodyStream({
        pause() {},
        resume() {
          if (resumed) return;
          resumed = true;
          setTimeout(() => {
            more.push(new TextEncoder().encode(second));
            more.end();
          }, gapMs);
        },
        abort() {},
      });
      return more;
    }

    const send = (headers: Array<[string, string]>) =>
      transport.send(target(edge.upstreams.v1), 1000, { method: "POST", path: "/upload", headers, body: new TextEncoder().encode("first,"), more: slowBody("second", 300) }, 5000);

    it("streams upstream as it arrives, keeping the request's content-length", async () => {
      const res = await send([["content-length", "12"]]);
      const echo = JSON.parse(new TextDecoder().decode(res.body)) as { body: string; bodySpreadMs: number; headers: Record<string, string> };
      expect(echo.body).toBe("first,second");
      // The upstream had the first part ~300 ms before the rest: it was not read whole first.
      expect(echo.bodySpreadMs).toBeGreaterThanOrEqual(200);
      expect(echo.headers["content-length"]).toBe("12");
      expect(echo.headers["transfer-encoding"]).toBeUndefined();
    });

    it("goes chunked when the length is not known", async () => {
      const res = await send([]);
      const echo = JSON.parse(new TextDecoder().decode(res.body)) as { body: string; bodySpreadMs: number; headers: Record<string, string> };
      expect(echo.body).toBe("first,second");
      expect(echo.bodySpreadMs).toBeGreaterThanOrEqual(200);
      expect(echo.headers["transfer-encoding"]).toBe("chunked");
    });
  });
});
