import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes reviewed SQL into migrations/; it needs no database.
export default defineConfig({
  dialect: 'postgresql',
  schema: './libs/db/src/schema/index.ts',
  out: './migrations',
  casing: 'snake_case',
});
