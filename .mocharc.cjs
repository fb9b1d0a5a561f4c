// `npm test` runs the suite on two workers, one per core (`--parallel` in
// its script): most of a spec's time is spent waiting (on a RabbitMQ node
// starting, a daemon, a timer), so two files at once nearly halve the run.
// Not with AMQP_URL: that one broker, given from outside, would be shared by
// files running at once, which would hear each other's rooms. A spec file
// run alone (`npx mocha spec/x.spec.ts`) runs serially, its output live.
module.exports = {
  require: ['tsx', 'spec/support/hooks.ts'],
  extension: ['ts'],
  reporter: './spec/support/summary-reporter.cjs',
  timeout: 20000,
  jobs: 2,
};
