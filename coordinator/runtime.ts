// The coordinator's runtime: what Coordinator gets passed in production. The wall clock, the
// UDP control channel (messages go to Coordinator.receive) and, for round-robin, the
// AF_PACKET injector that puts each topology onto the monitored link as an in-band frame.
import fs from 'node:fs';
import { systemClock } from '../common/clock.js';
import { ControlChannel } from '../common/control-channel.js';
import { FrameInjector } from '../native/frame-injector.js';
import { encodeInbandFrame, topologyUpdate } from '../protocol/index.js';
import { Coordinator, type CoordinatorConfig, type InbandInjector } from './coordinator.js';

/** In-band topology frames from the interface's own MAC, authenticated like every control message. */
function openInbandInjector(interfaceName: string, channel: ControlChannel): InbandInjector {
  const injector = new FrameInjector(interfaceName);
  const mac = Buffer.from(
    fs.readFileSync(`/sys/class/net/${interfaceName}/address`, 'utf8').trim().replace(/:/g, ''),
    'hex',
  );
  return {
    inject: (topology) => injector.send(encodeInbandFrame(mac, channel.encode(topologyUpdate(topology)))),
    close: () => injector.close(),
  };
}

/** Opens the control socket (and the injector) and starts a coordinator on them. */
export async function startCoordinator(config: CoordinatorConfig): Promise<Coordinator> {
  const channel = await ControlChannel.open({ bind: config.listen, key: config.key });
  let injector: InbandInjector | undefined;
  try {
    if (config.injectInterface) injector = openInbandInjector(config.injectInterface, channel);
  } catch (error) {
    await channel.close();
    throw error;
  }
  const coordinator = new Coordinator(config, { clock: systemClock, transport: channel, injector });
  channel.on('message', (view, from) => coordinator.receive(view, from));
  coordinator.start();
  return coordinator;
}
