import { KeepwarmError, type KeepwarmErrorOptions } from "../domain/errors.js";

/** An error as an AWS service states it on the wire: name, HTTP status and message. */
export interface AwsErrorShape {
  readonly type: string;
  readonly status: number;
  readonly message: string;
  /** The query-protocol code CloudWatch also sends (`x-amzn-query-error: Code;Sender`). */
  readonly queryCode?: string;
}

/**
 * The SigV4 signing name: `bedrock` for bedrock-runtime and the control plane, `monitoring`
 * for CloudWatch, `ce` for Cost Explorer.
 */
export type SigningService = "bedrock" | "monitoring" | "ce";

/** Thrown by the in-process CloudWatch and control-plane calls; the server turns it into a response. */
export class SimServiceError extends KeepwarmError {
  override readonly name = "SimServiceError";
  readonly shape: AwsErrorShape;

  constructor(shape: AwsErrorShape, options?: KeepwarmErrorOptions) {
    super(`${shape.type}: ${shape.message}`, options);
    this.shape = shape;
  }
}

// Messages are the ones AWS prints, where they are known.
export const awsErrors = {
  modelNotReady: (): AwsErrorShape => ({
    type: "ModelNotReadyException",
    status: 429,
    message:
      "Model is not ready for inference. Wait and try your request again. Refer to https://docs.aws.amazon.com/bedrock/latest/userguide/invoke-imported-model.html#handle-model-not-ready-exception.",
  }),
  throttling: (): AwsErrorShape => ({
    type: "ThrottlingException",
    status: 429,
    message: "Too many requests, please wait before trying again.",
  }),
  serviceUnavailable: (): AwsErrorShape => ({
    type: "ServiceUnavailableException",
    status: 503,
    message: "Bedrock is unable to process your request.",
  }),
  accessDenied: (action: string, resource: string, accountId: string): AwsErrorShape => ({
    type: "AccessDeniedException",
    status: 403,
    message: `User: arn:aws:sts::${accountId}:assumed-role/keepwarm/session is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
  }),
  expiredToken: (): AwsErrorShape => ({
    type: "ExpiredTokenException",
    status: 403,
    message: "The security token included in the request is expired",
    queryCode: "ExpiredToken",
  }),
  missingAuthentication: (): AwsErrorShape => ({
    type: "MissingAuthenticationTokenException",
    status: 403,
    message: "Missing Authentication Token",
    queryCode: "MissingAuthenticationToken",
  }),
  // JSON services answer an unparsable signature 400, the Bedrock front end 403.
  incompleteSignature: (message: string, service: SigningService): AwsErrorShape => ({
    type: "IncompleteSignatureException",
    status: service === "bedrock" ? 403 : 400,
    message,
    queryCode: "IncompleteSignature",
  }),
  invalidSignature: (message: string): AwsErrorShape => ({
    type: "InvalidSignatureException",
    status: 403,
    message,
    queryCode: "SignatureDoesNotMatch",
  }),
  invalidModelIdentifier: (): AwsErrorShape => ({
    type: "ValidationException",
    status: 400,
    message: "The provided model identifier is invalid.",
  }),
  malformedInput: (detail: string): AwsErrorShape => ({
    type: "ValidationException",
    status: 400,
    message: `Malformed input request: ${detail}, please reformat your input and try again.`,
  }),
  unknownBedrockOperation: (): AwsErrorShape => ({
    type: "ValidationException",
    status: 400,
    message: "The requested operation is not recognized by the service.",
  }),
  importedModelNotFound: (identifier: string): AwsErrorShape => ({
    type: "ResourceNotFoundException",
    status: 404,
    message: `The specified imported model ${identifier} was not found. Check the identifier and try your request again.`,
  }),
  cloudwatchThrottling: (): AwsErrorShape => ({
    type: "com.amazon.coral.availability#ThrottlingException",
    status: 400,
    message: "Rate exceeded",
    queryCode: "Throttling",
  }),
  unknownCloudWatchOperation: (target: string): AwsErrorShape => ({
    type: "com.amazon.coral.service#UnknownOperationException",
    status: 400,
    message: `Unknown operation ${target}`,
    queryCode: "UnknownOperation",
  }),
  invalidParameterValue: (message: string): AwsErrorShape => ({
    type: "com.amazonaws.cloudwatch#InvalidParameterValueException",
    status: 400,
    message,
    queryCode: "InvalidParameterValue",
  }),
  invalidParameterCombination: (message: string): AwsErrorShape => ({
    type: "com.amazonaws.cloudwatch#InvalidParameterCombinationException",
    status: 400,
    message,
    queryCode: "InvalidParameterCombination",
  }),
  unsupportedCloudWatchProtocol: (protocol: string): AwsErrorShape => ({
    type: "com.amazon.coral.service#UnknownOperationException",
    status: 400,
    message: `The keepwarm simulator speaks CloudWatch's AWS JSON 1.0 protocol only (POST / with x-amz-target: GraniteServiceVersion20100801.<Operation> and content-type application/x-amz-json-1.0); this request is ${protocol}.`,
    queryCode: "InvalidAction",
  }),
  missingParameter: (message: string): AwsErrorShape => ({
    type: "com.amazonaws.cloudwatch#MissingRequiredParameterException",
    status: 400,
    message,
    queryCode: "MissingParameter",
  }),
  costExplorerValidation: (message: string): AwsErrorShape => ({
    type: "ValidationException",
    status: 400,
    message,
  }),
  unknownCostExplorerOperation: (target: string): AwsErrorShape => ({
    type: "UnknownOperationException",
    status: 400,
    message: `The keepwarm simulator serves Cost Explorer's GetCostAndUsage only; this request is ${target}.`,
  }),
  invalidNextPageToken: (): AwsErrorShape => ({
    type: "InvalidNextTokenException",
    status: 400,
    message: "The NextPageToken is invalid or does not belong to this request.",
  }),
  invalidNextToken: (): AwsErrorShape => ({
    type: "com.amazonaws.cloudwatch#InvalidNextToken",
    status: 400,
    message: "The service couldn't process the NextToken.",
    queryCode: "InvalidNextToken",
  }),
} as const;
