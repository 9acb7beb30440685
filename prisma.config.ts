import { defineConfig } from "prisma/config";

// Used only by the Prisma CLI (generate, and migrate for users who have it
// working). Hookpost itself applies prisma/migrations with src/db/migrate.ts.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/hookpost" },
});
