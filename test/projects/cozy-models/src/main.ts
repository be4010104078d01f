import { type ActionContext, type PayloadModel, Tensor } from "gen-worker";

export interface PickInput {
  /** A key of [models]: tiny or tiny-b. */
  model: string;
  /** Rows of 4 features, flattened. */
  x: number[];
}

export interface PickOutput {
  y: number[];
  key: string;
  ref: string;
  path: string;
}

/** The tiny MLP (Y[N,3] = Relu(X[N,4]·W + B)) from whichever cozy: snapshot the payload names. */
export async function pick(
  _ctx: ActionContext,
  input: PickInput,
  model: PayloadModel<"model">,
): Promise<PickOutput> {
  const x = Float32Array.from(input.x);
  const out = await model.session.run({ X: new Tensor("float32", x, [x.length / 4, 4]) });
  return {
    y: Array.from((out.Y as Tensor).data as Float32Array),
    key: model.key,
    ref: model.ref,
    path: model.path,
  };
}
