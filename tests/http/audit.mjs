// Runs the GraphQL-over-HTTP server audit of `graphql-http` against a live endpoint.
// Usage: node audit.mjs <graphql url> [node_modules dir]
// Prints one JSON array: {id, name, status, reason, httpStatus} per audit.
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [url, modules] = process.argv.slice(2);
if (!url) {
  console.error('usage: node audit.mjs <graphql url> [node_modules dir]');
  process.exit(2);
}
const here = fileURLToPath(new URL('.', import.meta.url));
const root = modules ?? join(here, '..', '..', '.data', 'npm', 'node_modules');
const entry = pathToFileURL(join(root, 'graphql-http', 'lib', 'index.mjs')).href;
const { auditServer } = await import(entry);

const results = await auditServer({ url });
const report = [];
for (const result of results) {
  const row = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    row.reason = result.reason;
    row.httpStatus = result.response?.status ?? null;
  }
  report.push(row);
}
process.stdout.write(JSON.stringify(report));
