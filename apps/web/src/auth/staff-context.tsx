import type { TUser } from '@parley/contracts';
import { createContext, useContext } from 'react';
import type { ApiClient } from '../api/api-client.ts';

export interface Staff {
  api: ApiClient;
  user: TUser;
  signOut: () => void;
}

export const StaffContext = createContext<Staff | null>(null);

/** The signed-in staff member and their API client; only rendered inside the staff shell. */
export function useStaff(): Staff {
  const staff = useContext(StaffContext);
  if (!staff) throw new Error('useStaff outside the staff shell');
  return staff;
}
