/**
 * Root hooks for every test file. The services are brought up by `npm run services` before mocha starts
 * (the `pretest` script); a test that needs one and cannot reach it fails — nothing skips silently.
 */
export const mochaHooks = {
  beforeAll(): void {
    process.env.NODE_ENV = process.env.NODE_ENV ?? "test";
  },
};
