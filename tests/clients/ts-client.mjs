// The TypeScript SDK v2 client (@modelcontextprotocol/client, pinned in
// package.json) against a running switchboard host serving server-everything
// (a 2025-11-25-only upstream) as `everything`: tools/call, resources/read and
// prompts/get of upstream items, once per negotiation mode:
//
//   legacy  the SDK default (initialize handshake, 2025-11-25)
//   auto    versionNegotiation: { mode: 'auto' } (server/discover, 2026-07-28)
//   pinned  versionNegotiation: { mode: { pin: '2026-07-28' } }
//
//   node ts-client.mjs URL EVERYTHING_DOCS_DIR
//
// EVERYTHING_DOCS_DIR holds the markdown files server-everything serves as
// its static document resources (compared byte for byte). Prints one line
// per check and exits 1 if any failed, naming each failure.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const [url, docsDir] = process.argv.slice(2);
if (!url || !docsDir) {
    console.error('usage: node ts-client.mjs URL EVERYTHING_DOCS_DIR');
    process.exit(2);
}

const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';
const TIMEOUT_MS = 30_000;

const MODES = [
    { name: 'legacy', options: {}, era: LEGACY },
    { name: 'auto', options: { versionNegotiation: { mode: 'auto' } }, era: MODERN },
    { name: 'pinned 2026-07-28', options: { versionNegotiation: { mode: { pin: MODERN } } }, era: MODERN },
];

const RESOURCE = 'upstream://everything/demo://resource/static/document/architecture.md';

function assert(condition, message) {
    if (!condition) throw new Error(message);
}

function show(value) {
    return JSON.stringify(value);
}

function onlyText(content, what) {
    assert(Array.isArray(content) && content.length === 1, `${what}: expected one content block, got ${show(content)}`);
    assert(content[0].type === 'text', `${what}: expected a text block, got ${show(content[0])}`);
    return content[0].text;
}

const CHECKS = [
    {
        name: 'tools/call everything_echo',
        async run(client) {
            const result = await client.callTool(
                { name: 'everything_echo', arguments: { message: 'hi' } },
                { timeout: TIMEOUT_MS },
            );
            assert(!result.isError, `isError result: ${show(result)}`);
            const text = onlyText(result.content, 'everything_echo');
            assert(text === 'Echo: hi', `expected "Echo: hi", got ${show(text)}`);
        },
    },
    {
        name: 'tools/call everything_get-sum',
        async run(client) {
            const result = await client.callTool(
                { name: 'everything_get-sum', arguments: { a: 2, b: 40 } },
                { timeout: TIMEOUT_MS },
            );
            assert(!result.isError, `isError result: ${show(result)}`);
            const text = onlyText(result.content, 'everything_get-sum');
            assert(text === 'The sum of 2 and 40 is 42.', `got ${show(text)}`);
        },
    },
    {
        name: `resources/read ${RESOURCE}`,
        async run(client) {
            const result = await client.readResource({ uri: RESOURCE }, { timeout: TIMEOUT_MS });
            const contents = result.contents;
            assert(Array.isArray(contents) && contents.length === 1, `expected one content, got ${show(contents)}`);
            assert(contents[0].uri === RESOURCE, `content uri ${show(contents[0].uri)}`);
            const expected = readFileSync(join(docsDir, 'architecture.md'), 'utf8');
            assert(contents[0].text === expected, `text differs from architecture.md: ${show(contents[0].text?.slice(0, 200))}`);
        },
    },
    {
        name: 'prompts/get everything_args-prompt',
        async run(client) {
            const result = await client.getPrompt(
                { name: 'everything_args-prompt', arguments: { city: 'Paris' } },
                { timeout: TIMEOUT_MS },
            );
            const messages = result.messages;
            assert(Array.isArray(messages) && messages.length === 1, `expected one message, got ${show(messages)}`);
            assert(messages[0].role === 'user', `role ${show(messages[0].role)}`);
            const content = messages[0].content;
            assert(content.type === 'text' && content.text === "What's weather in Paris?", `content ${show(content)}`);
        },
    },
    {
        name: 'prompts/get everything_simple-prompt',
        async run(client) {
            const result = await client.getPrompt({ name: 'everything_simple-prompt' }, { timeout: TIMEOUT_MS });
            assert(Array.isArray(result.messages) && result.messages.length >= 1, `messages ${show(result.messages)}`);
            assert(result.messages[0].content?.type === 'text', `content ${show(result.messages[0].content)}`);
        },
    },
];

const failures = [];

for (const mode of MODES) {
    const label = `ts-sdk ${mode.name}`;
    const client = new Client({ name: 'switchboard-ts-client-test', version: '1.0.0' }, mode.options);
    const transport = new StreamableHTTPClientTransport(new URL(url));
    try {
        await client.connect(transport, { timeout: TIMEOUT_MS });
    } catch (error) {
        failures.push(`${label}: connect: ${error?.message ?? error}`);
        console.log(`FAIL ${label}: connect: ${error?.message ?? error}`);
        continue;
    }
    try {
        const era = client.getNegotiatedProtocolVersion();
        if (era === mode.era) {
            console.log(`ok   ${label}: negotiated ${era}`);
        } else {
            failures.push(`${label}: negotiated ${era}, expected ${mode.era}`);
            console.log(`FAIL ${label}: negotiated ${era}, expected ${mode.era}`);
        }
        for (const check of CHECKS) {
            try {
                await check.run(client);
                console.log(`ok   ${label}: ${check.name}`);
            } catch (error) {
                const message = error?.message ?? String(error);
                failures.push(`${label}: ${check.name}: ${message}`);
                console.log(`FAIL ${label}: ${check.name}: ${message}`);
            }
        }
    } finally {
        await client.close().catch(() => {});
    }
}

if (failures.length > 0) {
    console.error(`\nts-client: ${failures.length} check(s) failed:`);
    for (const failure of failures) console.error(`  - ${failure}`);
    process.exit(1);
}
console.log('ts-client: all checks passed');
