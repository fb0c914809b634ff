export { Alert } from "./alert";
export { Button } from "./button";
export { Badge, Card } from "./card";
export { Input, Select } from "./field";
export { Pagination } from "./pagination";
export { PageSpinner, Spinner } from "./spinner";
