/** A started listener: its bound port (useful when configured as 0) and a clean stop. */
export interface RunningServer {
  port: number;
  close(): Promise<void>;
}
