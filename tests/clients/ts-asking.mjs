// The TypeScript SDK v2 client (@modelcontextprotocol/client) answering the
// questions of a plugin and of an upstream through a running switchboard
// host: its sampling/createMessage, elicitation/create and roots/list
// handlers, once per negotiation mode (legacy: the host sends requests on
// the session; auto and pinned 2026-07-28: the host answers input_required
// and the SDK fulfils it through the same handlers and retries).
//
// The host serves the conformance fixture as `fx` and server-everything (a
// 2025-11-25 server, which sends its questions as requests) as
// `everything`, both granted sampling, elicitation and roots.
//
//   node ts-asking.mjs URL
//
// Prints one line per check and exits 1 if any failed, naming each failure.

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const [url] = process.argv.slice(2);
if (!url) {
    console.error('usage: node ts-asking.mjs URL');
    process.exit(2);
}

const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';
const TIMEOUT_MS = 30_000;
const ROOT_URI = 'file:///work/ts-client';

const MODES = [
    { name: 'legacy', options: {}, era: LEGACY },
    { name: 'auto', options: { versionNegotiation: { mode: 'auto' } }, era: MODERN },
    { name: 'pinned 2026-07-28', options: { versionNegotiation: { mode: { pin: MODERN } } }, era: MODERN },
];

function assert(condition, message) {
    if (!condition) throw new Error(message);
}

function show(value) {
    return JSON.stringify(value);
}

function textOf(result, what) {
    assert(!result.isError, `${what}: isError result: ${show(result)}`);
    return result.content
        .filter(block => block.type === 'text')
        .map(block => block.text)
        .join('\n');
}

// A form answer that fits `schema`: each property's default, else a value
// of its type (the SDK checks the answer against the requested schema).
function fill(schema) {
    const content = {};
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
        if (property.default !== undefined) content[key] = property.default;
        else if (property.enum) content[key] = property.enum[0];
        else if (property.oneOf) content[key] = property.oneOf[0].const;
        else if (property.type === 'boolean') content[key] = true;
        else if (property.type === 'number' || property.type === 'integer') content[key] = property.minimum ?? 1;
        else if (property.type === 'array') content[key] = [property.items?.enum?.[0] ?? 'x'];
        else if (property.format === 'email') content[key] = 'ts@example.com';
        else if (property.format === 'uri') content[key] = 'https://example.com';
        else if (property.format === 'date') content[key] = '2026-12-06';
        else content[key] = key === 'name' ? 'Tess' : 'tess';
    }
    return content;
}

function answeringClient(mode, asked) {
    const client = new Client(
        { name: 'switchboard-ts-asking-test', version: '1.0.0' },
        { ...mode.options, capabilities: { sampling: {}, elicitation: { form: {} }, roots: {} } },
    );
    client.setRequestHandler('sampling/createMessage', async request => {
        asked.push('sampling');
        const last = request.params.messages.at(-1)?.content;
        const prompt = Array.isArray(last) ? last[0]?.text : last?.text;
        return { model: 'ts-model', role: 'assistant', content: { type: 'text', text: `ts model says: ${prompt}` } };
    });
    client.setRequestHandler('elicitation/create', async request => {
        asked.push('elicitation');
        return { action: 'accept', content: fill(request.params.requestedSchema ?? {}) };
    });
    client.setRequestHandler('roots/list', async () => {
        asked.push('roots');
        return { roots: [{ uri: ROOT_URI, name: 'ts client' }] };
    });
    return client;
}

async function call(client, name, args) {
    return textOf(await client.callTool({ name, arguments: args }, { timeout: TIMEOUT_MS }), name);
}

const EVERYTHING_ASKS = [
    'everything_trigger-sampling-request',
    'everything_trigger-elicitation-request',
    'everything_get-roots-list',
];

const CHECKS = [
    {
        name: 'a plugin samples (fx_test_sampling)',
        async run(client, asked) {
            const text = await call(client, 'fx_test_sampling', { prompt: 'hi' });
            assert(text === 'LLM response: ts model says: hi', `got ${show(text)}`);
            assert(asked.includes('sampling'), `sampling never asked: ${show(asked)}`);
        },
    },
    {
        name: 'a plugin elicits (fx_test_elicitation)',
        async run(client, asked) {
            const text = await call(client, 'fx_test_elicitation', { message: 'Who?' });
            assert(text.startsWith('User response: action=accept'), `got ${show(text)}`);
            assert(asked.includes('elicitation'), `elicitation never asked: ${show(asked)}`);
        },
    },
    {
        name: 'a plugin asks all three in one round',
        async run(client, asked) {
            const text = await call(client, 'fx_test_input_required_result_multiple_inputs', {});
            assert(text.includes(ROOT_URI), `no root in ${show(text)}`);
            assert(text.includes('ts model says: '), `no sample in ${show(text)}`);
            assert(asked.includes('roots'), `roots never asked: ${show(asked)}`);
        },
    },
    {
        name: 'server-everything offers its asking tools',
        async run(client) {
            const started = Date.now();
            for (;;) {
                const { tools } = await client.listTools({}, { timeout: TIMEOUT_MS });
                const names = tools.map(tool => tool.name);
                if (EVERYTHING_ASKS.every(name => names.includes(name))) return;
                assert(Date.now() - started < TIMEOUT_MS, `never listed ${show(EVERYTHING_ASKS)}: ${show(names)}`);
                await new Promise(resolve => setTimeout(resolve, 100));
            }
        },
    },
    {
        name: 'server-everything samples',
        async run(client) {
            const text = await call(client, 'everything_trigger-sampling-request', { prompt: 'from ts' });
            assert(text.includes('ts model says: ') && text.includes('from ts'), `got ${show(text)}`);
        },
    },
    {
        name: 'server-everything elicits',
        async run(client) {
            const text = await call(client, 'everything_trigger-elicitation-request', {});
            assert(text.includes('Tess'), `got ${show(text)}`);
        },
    },
    {
        name: "server-everything reports the client's roots",
        async run(client) {
            const text = await call(client, 'everything_get-roots-list', {});
            assert(text.includes(ROOT_URI), `got ${show(text)}`);
        },
    },
];

const failures = [];

for (const mode of MODES) {
    const label = `ts-sdk asking ${mode.name}`;
    const asked = [];
    const client = answeringClient(mode, asked);
    try {
        await client.connect(new StreamableHTTPClientTransport(new URL(url)), { timeout: TIMEOUT_MS });
    } catch (error) {
        failures.push(`${label}: connect: ${error?.message ?? error}`);
        console.log(`FAIL ${label}: connect: ${error?.message ?? error}`);
        continue;
    }
    try {
        const era = client.getNegotiatedProtocolVersion();
        if (era !== mode.era) {
            failures.push(`${label}: negotiated ${era}, expected ${mode.era}`);
            console.log(`FAIL ${label}: negotiated ${era}, expected ${mode.era}`);
        }
        for (const check of CHECKS) {
            try {
                await check.run(client, asked);
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
    console.error(`\nts-asking: ${failures.length} check(s) failed:`);
    for (const failure of failures) console.error(`  - ${failure}`);
    process.exit(1);
}
console.log('ts-asking: all checks passed');
