/** What node-record-lpcm16 hands a recorder module: its own options merged with ours. */
export interface RecorderOptions {
  sampleRate: number;
  channels: number;
  device: string;
  periodUs: number;
  env: NodeJS.ProcessEnv;
}

export interface RecorderCommand {
  cmd: string;
  args: string[];
  spawnOptions: { env: NodeJS.ProcessEnv };
}
