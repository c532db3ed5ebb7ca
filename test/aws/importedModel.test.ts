import { BedrockClient, GetImportedModelCommand } from "@aws-sdk/client-bedrock";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { createRegionClients } from "../../src/aws/clients.js";
import { getImportedModel, ImportedModelError } from "../../src/aws/importedModel.js";

const ARN = "arn:aws:bedrock:us-east-1:123456789012:imported-model/abcdef012345";
const bedrock = mockClient(BedrockClient);
const clients = createRegionClients("us-east-1", {
  credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" },
});

afterEach(() => {
  bedrock.reset();
});

/** What getImportedModel rejects with, checked to be an ImportedModelError for ARN. */
async function importedModelError(): Promise<ImportedModelError> {
  const error = await getImportedModel(clients, ARN).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ImportedModelError);
  expect(error).toMatchObject({
    name: "ImportedModelError",
    modelArn: ARN,
    action: "bedrock:GetImportedModel",
  });
  return error as ImportedModelError;
}

describe("getImportedModel", () => {
  describe("when Bedrock answers with the units", () => {
    it("returns the CMU count, units version, architecture, instruct support, name, ARN and import time", async () => {
      bedrock.on(GetImportedModelCommand, { modelIdentifier: ARN }).resolves({
        modelArn: ARN,
        modelName: "mimo-vl-miloco-7b",
        creationTime: new Date("2025-12-01T10:00:00Z"),
        modelArchitecture: "qwen2_5_vl",
        instructSupported: true,
        customModelUnits: { customModelUnitsPerModelCopy: 4, customModelUnitsVersion: "v1.0" },
      });
      await expect(getImportedModel(clients, ARN)).resolves.toEqual({
        customModelUnits: 4,
        unitsVersion: "v1.0",
        architecture: "qwen2_5_vl",
        instructSupported: true,
        modelName: "mimo-vl-miloco-7b",
        modelArn: ARN,
        createdAt: Date.parse("2025-12-01T10:00:00Z"),
      });
    });

    it("leaves out the optional fields Bedrock does not send", async () => {
      bedrock.on(GetImportedModelCommand).resolves({
        customModelUnits: { customModelUnitsPerModelCopy: 2 },
      });
      const info = await getImportedModel(clients, ARN);
      expect(info).toEqual({ customModelUnits: 2 });
      expect(Object.keys(info)).toEqual(["customModelUnits"]);
    });
  });

  describe("the units version", () => {
    it.each([
      ["v1.0", "v1.0"],
      ["v2.0", "v2.0"],
      ["2.0", "v2.0"],
      ["v2", "v2.0"],
      ["v2:0", "v2.0"],
      ["V3.1", "v3.1"],
      ["beta", "beta"],
    ])("reads %s as %s, the key of the price table and of the YAML", async (sent, read) => {
      bedrock.on(GetImportedModelCommand).resolves({
        customModelUnits: { customModelUnitsPerModelCopy: 8, customModelUnitsVersion: sent },
      });
      expect((await getImportedModel(clients, ARN)).unitsVersion).toBe(read);
    });
  });

  describe("when the answer lacks units", () => {
    it.each([
      ["no customModelUnits", {}],
      [
        "no customModelUnitsPerModelCopy",
        { customModelUnits: { customModelUnitsVersion: "v1.0" } },
      ],
      ["zero units", { customModelUnits: { customModelUnitsPerModelCopy: 0 } }],
    ])("throws ImportedModelError (%s)", async (_label, answer) => {
      bedrock.on(GetImportedModelCommand).resolves(answer);
      const error = await importedModelError();
      expect(error.cause).toBeUndefined();
      expect(error.message).toContain("customModelUnitsPerModelCopy");
    });
  });

  describe("when the call fails", () => {
    it("throws ImportedModelError naming the action and the ARN, with the SDK error as cause", async () => {
      const denied = Object.assign(new Error("User is not authorized"), {
        name: "AccessDeniedException",
      });
      bedrock.on(GetImportedModelCommand).rejects(denied);
      const error = await importedModelError();
      expect(error).toMatchObject({ cause: denied });
      expect(error.message).toBe(
        `bedrock:GetImportedModel on ${ARN} failed in us-east-1: AccessDeniedException: User is not authorized`,
      );
    });
  });
});
