const MAX_SLUG_LENGTH = 128;

/**
 * The URL-safe name of an endpoint or project, exactly as the Cozy platform derives it
 *: lowercase, `_` and other runs of non `[a-z0-9.]` become `-`,
 * dots kept, ends trimmed of `-` and `.`, at most 128 characters.
 */
export function slugify(name: string): string {
  let slug = name.trim().toLowerCase().replaceAll("_", "-");
  slug = slug.replace(/[^a-z0-9.]+/g, "-").replace(/-{2,}/g, "-");
  slug = trimSeparators(slug);
  if (slug.length > MAX_SLUG_LENGTH) slug = trimSeparators(slug.slice(0, MAX_SLUG_LENGTH));
  return slug;
}

function trimSeparators(text: string): string {
  return text.replace(/^[-.]+|[-.]+$/g, "");
}
