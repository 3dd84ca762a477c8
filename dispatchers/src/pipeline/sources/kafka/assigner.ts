import { randomUUID } from 'node:crypto';
import kafkajs, { type PartitionAssigner } from 'kafkajs';

const { AssignerProtocol } = kafkajs;

/** Names this process in every group it joins (same value in all of them, unique per process). */
export const PROCESS_INSTANCE = `${process.pid}-${randomUUID()}`;

export const COLOCATED_ASSIGNER_NAME = 'TelltaleColocated';

/**
 * A topic auto-created by this very join can be missing from the metadata the leader just fetched
 * (no partitions yet): assigning then would leave every partition unowned until kafkajs next
 * refreshes metadata (metadataMaxAge). The leader looks again a few times first; the group waits
 * for its SyncGroup meanwhile.
 */
const METADATA_RETRIES = 10;
const METADATA_RETRY_MS = 200;

/**
 * Round robin over members sorted by their process, not by their random member id: every group
 * of one topic with the same processes in it (one per sink, and the alerts) then gives each
 * process the same partitions, so a record is fetched by several groups of one process and
 * decoded once there (the decode cache), instead of once per group in different processes.
 * `instance`: this process (tests give members of one process different ones).
 */
export const colocatedAssigner =
  (instance: string = PROCESS_INSTANCE): PartitionAssigner =>
  ({ cluster }) => ({
    name: COLOCATED_ASSIGNER_NAME,
    version: 1,
    protocol({ topics }) {
      return {
        name: COLOCATED_ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: Buffer.from(instance, 'utf8'),
        }),
      };
    },
    async assign({ members, topics }) {
      const instanceOf = (metadata: Buffer): string => {
        try {
          return AssignerProtocol.MemberMetadata.decode(metadata)?.userData.toString('utf8') ?? '';
        } catch {
          return '';
        }
      };
      const sorted = members
        .map((m) => ({ memberId: m.memberId, instance: instanceOf(m.memberMetadata) }))
        .sort((a, b) =>
          a.instance === b.instance
            ? a.memberId.localeCompare(b.memberId)
            : a.instance.localeCompare(b.instance),
        );
      const partitionsOf = (topic: string): number[] =>
        [...new Set(cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId))].sort(
          (a, b) => a - b,
        );
      for (
        let tries = 0;
        tries < METADATA_RETRIES && topics.some((t) => partitionsOf(t).length === 0);
        tries++
      ) {
        await new Promise((resolve) => setTimeout(resolve, METADATA_RETRY_MS));
        await cluster.refreshMetadata();
      }
      // Every member gets every topic, with an empty list when there are more members than partitions.
      const assignment = new Map<string, Record<string, number[]>>(
        sorted.map((m) => [m.memberId, Object.fromEntries(topics.map((t) => [t, []]))]),
      );
      for (const topic of topics) {
        const partitions = partitionsOf(topic);
        // Per topic from member 0: the same partition goes to the same process in every group of that topic.
        partitions.forEach((partition, i) => {
          const owner = assignment.get(sorted[i % sorted.length]!.memberId)!;
          owner[topic]!.push(partition);
        });
      }
      return [...assignment].map(([memberId, topicsOf]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: topicsOf,
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
