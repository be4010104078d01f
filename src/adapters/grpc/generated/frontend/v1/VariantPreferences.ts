// Original file: proto/frontend.proto


// Original file: proto/frontend.proto

export const _frontend_v1_VariantPreferences_Layout = {
  LAYOUT_UNSPECIFIED: 'LAYOUT_UNSPECIFIED',
  DIFFUSERS: 'DIFFUSERS',
} as const;

export type _frontend_v1_VariantPreferences_Layout =
  | 'LAYOUT_UNSPECIFIED'
  | 0
  | 'DIFFUSERS'
  | 1

export type _frontend_v1_VariantPreferences_Layout__Output = typeof _frontend_v1_VariantPreferences_Layout[keyof typeof _frontend_v1_VariantPreferences_Layout]

// Original file: proto/frontend.proto

export const _frontend_v1_VariantPreferences_Packaging = {
  PACKAGING_UNSPECIFIED: 'PACKAGING_UNSPECIFIED',
  SAFETENSORS: 'SAFETENSORS',
  FLASHPACK: 'FLASHPACK',
} as const;

export type _frontend_v1_VariantPreferences_Packaging =
  | 'PACKAGING_UNSPECIFIED'
  | 0
  | 'SAFETENSORS'
  | 1
  | 'FLASHPACK'
  | 2

export type _frontend_v1_VariantPreferences_Packaging__Output = typeof _frontend_v1_VariantPreferences_Packaging[keyof typeof _frontend_v1_VariantPreferences_Packaging]

// Original file: proto/frontend.proto

export const _frontend_v1_VariantPreferences_Quantization = {
  QUANT_UNSPECIFIED: 'QUANT_UNSPECIFIED',
  FP16: 'FP16',
  BF16: 'BF16',
  FP8: 'FP8',
} as const;

export type _frontend_v1_VariantPreferences_Quantization =
  | 'QUANT_UNSPECIFIED'
  | 0
  | 'FP16'
  | 1
  | 'BF16'
  | 2
  | 'FP8'
  | 3

export type _frontend_v1_VariantPreferences_Quantization__Output = typeof _frontend_v1_VariantPreferences_Quantization[keyof typeof _frontend_v1_VariantPreferences_Quantization]

export interface VariantPreferences {
  'quant'?: (_frontend_v1_VariantPreferences_Quantization);
  'packaging'?: (_frontend_v1_VariantPreferences_Packaging);
  'layout'?: (_frontend_v1_VariantPreferences_Layout);
}

export interface VariantPreferences__Output {
  'quant': (_frontend_v1_VariantPreferences_Quantization__Output);
  'packaging': (_frontend_v1_VariantPreferences_Packaging__Output);
  'layout': (_frontend_v1_VariantPreferences_Layout__Output);
}
