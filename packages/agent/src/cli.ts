import { AGENT_USAGE, AgentConfigError, loadAgentConfig, startAgent } from './index.ts';

/** `flowgate-agent`: runs until SIGTERM or SIGINT, then stops Node-RED and flushes what it owes the platform. */
function main(): void {
  let config;
  try {
    config = loadAgentConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof AgentConfigError)) throw err;
    process.stderr.write(`flowgate-agent: ${err.message}\n\n${AGENT_USAGE}`);
    process.exit(2);
  }
  const agent = startAgent(config);
  const shutdown = () => {
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`flowgate-agent: stopping failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main();
