import { intRange, sshUser, tcpPort } from '../../flags/checks.js';
import type { FlagCheck, FlagDef } from '../../flags/def.js';

/** The original's flags, variables and defaults (spec §7.8), and the forks' that users rely on. */
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_SECURITY_GROUP = 'docker-machine';

const oneOf =
  (...values: string[]): FlagCheck =>
  (v) =>
    typeof v !== 'string' || v === '' || values.includes(v)
      ? undefined
      : `expected one of ${values.join(', ')}`;

export const flags: FlagDef[] = [
  { name: 'amazonec2-access-key', kind: 'string', envVar: 'AWS_ACCESS_KEY_ID', usage: 'AWS Access Key' },
  { name: 'amazonec2-secret-key', kind: 'string', envVar: 'AWS_SECRET_ACCESS_KEY', usage: 'AWS Secret Key' },
  {
    name: 'amazonec2-session-token',
    kind: 'string',
    envVar: 'AWS_SESSION_TOKEN',
    usage: 'AWS Session Token',
  },
  {
    name: 'amazonec2-ami',
    kind: 'string',
    envVar: 'AWS_AMI',
    usage: "AWS machine image (default: the region's newest Ubuntu 24.04 LTS image from Canonical)",
  },
  {
    name: 'amazonec2-region',
    kind: 'string',
    default: DEFAULT_REGION,
    envVar: 'AWS_DEFAULT_REGION',
    usage: 'AWS region',
  },
  { name: 'amazonec2-vpc-id', kind: 'string', envVar: 'AWS_VPC_ID', usage: 'AWS VPC id' },
  {
    name: 'amazonec2-zone',
    kind: 'string',
    default: 'a',
    envVar: 'AWS_ZONE',
    usage: 'AWS zone for instance (i.e. a,b,c,d,e), or a whole zone name (us-east-1a)',
  },
  { name: 'amazonec2-subnet-id', kind: 'string', envVar: 'AWS_SUBNET_ID', usage: 'AWS VPC subnet id' },
  {
    name: 'amazonec2-security-group-readonly',
    kind: 'bool',
    envVar: 'AWS_SECURITY_GROUP_READONLY',
    usage: 'Skip adding default rules to security groups',
  },
  {
    name: 'amazonec2-security-group',
    kind: 'stringSlice',
    default: [DEFAULT_SECURITY_GROUP],
    envVar: 'AWS_SECURITY_GROUP',
    usage: 'AWS VPC security group',
  },
  {
    name: 'amazonec2-open-port',
    kind: 'stringSlice',
    usage: 'Make the specified port number accessible from the Internet (PORT or PORT/PROTOCOL)',
  },
  {
    name: 'amazonec2-tags',
    kind: 'string',
    envVar: 'AWS_TAGS',
    usage: 'AWS Tags (e.g. key1,value1,key2,value2), on the instance and its volumes',
  },
  {
    name: 'amazonec2-instance-type',
    kind: 'string',
    default: 't2.micro',
    envVar: 'AWS_INSTANCE_TYPE',
    usage: 'AWS instance type',
  },
  {
    name: 'amazonec2-device-name',
    kind: 'string',
    envVar: 'AWS_DEVICE_NAME',
    usage: "AWS root device name (default: the image's own root device, else /dev/sda1)",
  },
  {
    name: 'amazonec2-root-size',
    kind: 'int',
    default: 16,
    envVar: 'AWS_ROOT_SIZE',
    usage: 'AWS root disk size (in GB)',
    check: intRange(1, 65536, 'a size in GB'),
  },
  {
    name: 'amazonec2-volume-type',
    kind: 'string',
    default: 'gp2',
    envVar: 'AWS_VOLUME_TYPE',
    usage: 'Amazon EBS volume type (gp2, gp3, io1, io2, st1, sc1, standard)',
    check: oneOf('gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'),
  },
  {
    name: 'amazonec2-encrypt-ebs-volume',
    kind: 'bool',
    envVar: 'AWS_ENCRYPT_EBS_VOLUME',
    usage: 'Encrypt the root EBS volume',
  },
  {
    name: 'amazonec2-kms-key',
    kind: 'string',
    envVar: 'AWS_KMS_KEY',
    usage: 'KMS key (id or ARN) for the root volume (implies --amazonec2-encrypt-ebs-volume)',
  },
  {
    name: 'amazonec2-iam-instance-profile',
    kind: 'string',
    envVar: 'AWS_INSTANCE_PROFILE',
    usage: 'AWS IAM Instance Profile',
  },
  {
    name: 'amazonec2-ssh-port',
    kind: 'int',
    default: 22,
    envVar: 'AWS_SSH_PORT',
    usage: 'SSH port',
    check: tcpPort,
  },
  {
    name: 'amazonec2-ssh-user',
    kind: 'string',
    default: 'ubuntu',
    envVar: 'AWS_SSH_USER',
    usage: 'Set the name of the ssh user',
    check: sshUser,
  },
  { name: 'amazonec2-request-spot-instance', kind: 'bool', usage: 'Set this flag to request spot instance' },
  {
    name: 'amazonec2-spot-price',
    kind: 'string',
    default: '0.50',
    usage: 'AWS spot instance bid price (in dollar)',
  },
  {
    name: 'amazonec2-spot-api',
    kind: 'string',
    default: 'run-instances',
    envVar: 'AWS_SPOT_API',
    usage:
      'How a spot instance is asked for: run-instances (market options; works with IMDSv2-only accounts) or request-spot-instances (the original)',
    check: oneOf('run-instances', 'request-spot-instances'),
  },
  {
    name: 'amazonec2-block-duration-minutes',
    kind: 'int',
    default: 0,
    usage:
      'AWS spot instance duration in minutes (60, 120, 180, 240, 300, or 360); request-spot-instances only',
  },
  {
    name: 'amazonec2-private-address-only',
    kind: 'bool',
    usage: 'Only use a private IP address (no public address is asked for)',
  },
  {
    name: 'amazonec2-use-private-address',
    kind: 'bool',
    usage: 'Force the usage of private IP address',
  },
  { name: 'amazonec2-monitoring', kind: 'bool', usage: 'Set this flag to enable CloudWatch monitoring' },
  {
    name: 'amazonec2-use-ebs-optimized-instance',
    kind: 'bool',
    usage: 'Create an EBS optimized instance',
  },
  {
    name: 'amazonec2-http-endpoint',
    kind: 'string',
    envVar: 'AWS_HTTP_ENDPOINT',
    usage: "Instance metadata service on the instance: enabled or disabled (default: the account's)",
    check: oneOf('enabled', 'disabled'),
  },
  {
    name: 'amazonec2-http-tokens',
    kind: 'string',
    envVar: 'AWS_HTTP_TOKENS',
    usage: 'Instance metadata tokens: required (IMDSv2 only) or optional',
    check: oneOf('required', 'optional'),
  },
  {
    name: 'amazonec2-metadata-token-response-hop-limit',
    kind: 'int',
    default: 0,
    envVar: 'AWS_METADATA_TOKEN_RESPONSE_HOP_LIMIT',
    usage: 'Hops a metadata token may travel, 1-64 (2 lets containers on the instance use IMDSv2)',
    check: intRange(1, 64, 'a hop count', "the account's default"),
  },
  {
    name: 'amazonec2-ssh-keypath',
    kind: 'string',
    envVar: 'AWS_SSH_KEYPATH',
    usage: 'SSH Key for Instance',
  },
  {
    name: 'amazonec2-keypair-name',
    kind: 'string',
    envVar: 'AWS_KEYPAIR_NAME',
    usage: 'AWS keypair to use; requires --amazonec2-ssh-keypath',
  },
  {
    name: 'amazonec2-retries',
    kind: 'int',
    default: 5,
    usage: 'Set retry count for recoverable failures (use -1 to disable)',
  },
  {
    name: 'amazonec2-endpoint',
    kind: 'string',
    envVar: 'AWS_ENDPOINT',
    usage:
      'Optional endpoint URL (hostname only or fully qualified URI); else $AWS_ENDPOINT_URL_EC2, $AWS_ENDPOINT_URL',
  },
  {
    name: 'amazonec2-insecure-transport',
    kind: 'bool',
    envVar: 'AWS_INSECURE_TRANSPORT',
    usage: 'Disable SSL when sending requests',
  },
  {
    name: 'amazonec2-userdata',
    kind: 'string',
    envVar: 'AWS_USERDATA',
    usage: 'path to file with cloud-init user data',
  },
];
