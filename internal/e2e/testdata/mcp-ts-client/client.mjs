// The official MCP TypeScript SDK's client against a live rigger, driven by
// internal/e2e (mcpts_test.go) over stdin and stdout:
//
//   node client.mjs server <baseUrl>   OAuth as a person (the test signs in
//                                      and consents), tools, catalog, dry run,
//                                      refresh, a revoked token refused
//   node client.mjs dev <baseUrl>      rigger dev's guest: dry run, run, the
//                                      approval gate a person opens (the test,
//                                      through the REST API), completion
//
// Lines it prints for the test: "AUTHORIZE <url>" (answer: the callback URL
// the browser was sent to), "APPROVAL <taskId> <requestId>" (answer: any
// line once approved), "STEP <what>", and last "mcp-ts: all steps passed".
// Any failure exits non-zero with the reason on stderr.
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [mode, base] = process.argv.slice(2);
const endpoint = new URL("/api/mcp", base);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function ask(line) {
  console.log(line);
  const { value, done } = await lines.next();
  if (done) throw new Error(`stdin closed while waiting for the answer to ${line.split(" ")[0]}`);
  return value.trim();
}

function check(ok, what, detail) {
  if (!ok) throw new Error(`${what}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  console.log(`STEP ${what}`);
}

// call returns a tool's structured result; a tool error throws with its text.
async function call(client, name, args) {
  const res = await client.callTool({ name, arguments: args });
  if (res.isError) {
    throw new Error(`${name}: ${res.content.map((c) => c.text).join(" ")}`);
  }
  return res.structuredContent;
}

// Provider keeps the client's registration, PKCE verifier and tokens in
// memory, as a desktop agent would in its keychain.
class Provider {
  constructor() {
    this.redirects = [];
    this.saved = [];
    this.info = undefined;
    this.toks = undefined;
    this.verifier = undefined;
  }
  get redirectUrl() { return "http://127.0.0.1:33418/callback"; }
  get clientMetadata() {
    return {
      client_name: "TypeScript SDK agent",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; }
  tokens() { return this.toks; }
  saveTokens(t) { this.toks = t; this.saved.push(t); }
  redirectToAuthorization(url) { this.redirects.push(url); }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
  // The SDK drops what the server refused (a revoked grant: the tokens).
  invalidateCredentials(scope) {
    if (scope === "all" || scope === "tokens") this.toks = undefined;
    if (scope === "all" || scope === "client") this.info = undefined;
    if (scope === "all" || scope === "verifier") this.verifier = undefined;
  }
}

async function server() {
  const provider = new Provider();
  const connect = async () => {
    const client = new Client({ name: "ts-e2e-agent", version: "1" });
    const transport = new StreamableHTTPClientTransport(endpoint, { authProvider: provider });
    await client.connect(transport);
    return { client, transport };
  };
  // The first connection meets the 401: discovery, registration, then the
  // browser (the test) signs the person in and consents.
  let first;
  try {
    await connect();
    throw new Error("connected without authorization");
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  }
  check(provider.redirects.length === 1 && provider.info?.client_id, "registered and sent to authorization", { redirects: provider.redirects.length, info: provider.info });
  const authURL = provider.redirects[0];
  check(authURL.searchParams.get("code_challenge_method") === "S256" && authURL.searchParams.get("code_challenge")?.length >= 43 && provider.verifier,
    "PKCE S256", authURL.toString());
  const back = new URL(await ask(`AUTHORIZE ${authURL}`));
  const code = back.searchParams.get("code");
  check(code, "authorization code", back.toString());
  {
    const transport = new StreamableHTTPClientTransport(endpoint, { authProvider: provider });
    await transport.finishAuth(code);
  }
  check(provider.toks?.access_token && provider.toks?.refresh_token, "tokens", Object.keys(provider.toks ?? {}));
  first = await connect();
  const { client } = first;

  const { tools } = await client.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  const incomplete = tools.filter((t) => t.inputSchema?.type !== "object" || t.outputSchema?.type !== "object" ||
    typeof t.annotations?.readOnlyHint !== "boolean" || typeof t.annotations?.destructiveHint !== "boolean" ||
    typeof t.annotations?.idempotentHint !== "boolean" || !t.description);
  check(tools.length >= 10 && incomplete.length === 0, `${tools.length} tools listed, each with input and output schemas and annotations`,
    incomplete.map((t) => t.name));
  const q = byName.catalog_query;
  check(q && q.inputSchema?.type === "object" && q.inputSchema.properties?.filter && q.outputSchema?.type === "object" &&
    q.annotations?.readOnlyHint === true && q.annotations?.destructiveHint === false && q.annotations?.idempotentHint === true,
    "catalog_query listed with schemas and annotations", q);
  const dry = byName.template_dry_run;
  check(dry && dry.inputSchema?.properties?.ref && dry.annotations?.readOnlyHint === true, "template_dry_run listed", dry);
  // Read-only grant (mcp.allowWrite is off): no write tool is listed.
  check(!byName.template_run && !byName.catalog_register && !byName.task_cancel, "no write tools without mcp.allowWrite", Object.keys(byName));

  const page = await call(client, "catalog_query", { filter: ["kind=user"], fields: ["metadata.name"] });
  const names = page.items.map((e) => e.metadata.name);
  check(names.includes("alice"), "catalog_query as alice", names);
  const { entity } = await call(client, "catalog_get", { ref: "user:default/alice" });
  check(entity?.metadata?.name === "alice" && entity.kind === "User", "catalog_get", entity);

  const values = { name: "billing", owner: "group:default/team-a", system: "payments" };
  const plan = await call(client, "template_dry_run", { ref: "template:default/catalog-entity", values });
  check(plan.status === "completed" && plan.files?.some((f) => f.content?.includes("system: payments")), "template_dry_run", plan);

  // Refresh: the access token (mcp.tokenTTL) runs out; the next call's 401
  // makes the SDK redeem the refresh token and retry.
  const before = provider.toks;
  const savedBefore = provider.saved.length;
  const wait = Number(process.env.MCP_TS_TOKEN_WAIT_MS ?? 0);
  await new Promise((r) => setTimeout(r, wait));
  const again = await call(client, "catalog_get", { ref: "user:default/alice" });
  check(again.entity?.metadata?.name === "alice", "a call after the access token expired", again);
  check(provider.saved.length === savedBefore + 1 && provider.toks.access_token !== before.access_token && provider.toks.refresh_token !== before.refresh_token,
    "refreshed (new access token, rotated refresh token)", { saved: provider.saved.length });

  // Revoke the grant (RFC 7009, as a client does on sign-out): the access
  // token is refused, and so is the refresh the SDK then tries; the agent
  // is sent back to the person's consent.
  const revoked = provider.toks;
  const r = await fetch(new URL("/oauth/revoke", base), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: revoked.refresh_token, token_type_hint: "refresh_token", client_id: provider.info.client_id }),
  });
  check(r.ok, "revoke", `${r.status} ${await r.text()}`);
  const raw = await fetch(endpoint, {
    method: "POST",
    headers: { Authorization: `Bearer ${revoked.access_token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  check(raw.status === 401, "the revoked access token is refused", `${raw.status} ${await raw.text()}`);
  try {
    await call(client, "catalog_get", { ref: "user:default/alice" });
    throw new Error("a call with the revoked grant succeeded");
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  }
  check(provider.redirects.length === 2 && provider.toks === undefined, "the SDK is sent back to authorization after the revocation",
    { redirects: provider.redirects.length, tokens: provider.toks });
}

async function dev() {
  const client = new Client({ name: "ts-e2e-agent", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(endpoint));
  const { tools } = await client.listTools();
  const run = tools.find((t) => t.name === "template_run");
  check(run && run.annotations?.readOnlyHint === false, "template_run listed (mcp.allowWrite)", run);

  const values = { name: "billing", owner: "group:default/team-a", system: "payments" };
  const ref = "template:default/catalog-entity";
  const plan = await call(client, "template_dry_run", { ref, values });
  check(plan.status === "completed", "template_dry_run", plan);
  const started = await call(client, "template_run", { ref, values });
  check(started.taskId && started.approval?.includes("waiting for approval by user:default/guest"), "template_run", started);

  const poll = async (done) => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const tk = await call(client, "task_get", { id: started.taskId });
      if (done(tk)) return tk;
      if (Date.now() > deadline) throw new Error(`task ${started.taskId}: ${JSON.stringify(tk)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const waiting = await poll((tk) => tk.approval || tk.status !== "processing");
  check(waiting.approval?.stepId === "rigger-agent-approval" && waiting.channel === "mcp" &&
    waiting.steps.every((s) => s.action !== "catalog:register" || s.status === "open"), "stopped at the approval gate", waiting);
  await ask(`APPROVAL ${started.taskId} ${waiting.approval.requestId}`);
  const done = await poll((tk) => tk.status !== "processing");
  check(done.status === "completed", "completed after the person approved", done);
}

try {
  if (mode === "server") await server();
  else if (mode === "dev") await dev();
  else throw new Error(`unknown mode ${mode}: want server or dev`);
  console.log("mcp-ts: all steps passed");
  process.exit(0);
} catch (e) {
  console.error(`mcp-ts: ${e.stack ?? e}`);
  process.exit(1);
}
